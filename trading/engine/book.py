"""The matching core: one market's order book and the rules that match an incoming order against it.

Pure Python, no Django: prices are integers (ticks) and quantities integers (lots); the worker
converts at the edge. Deterministic: the same commands in the same order give the same events.

Price-time FIFO: at each price, the oldest resting order trades first. Pro-rata: at the best price,
an incoming quantity smaller than the level is shared in proportion to resting size, rounded down to
lots; the lots left over go one at a time to the makers in time order (so no maker is more than one
lot away from its exact share). Orders: limit and market, time in force GTC / IOC / FOK, post-only,
and self-trade prevention per taker. A taker may carry a quote budget (price x lots, in ticks x
lots) besides its quantity: it takes until either runs out, and is FILLED only if its quantity did.

Written for speed (bench/bench_core.py measures it): the hot paths are inlined, compare enum members
by identity against module constants, and keep each price level as a deque that a cancel in its
middle leaves in place until matching or a compaction meets it (`Level.dead`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import compress
from operator import attrgetter


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class SelfTrade(StrEnum):
    CANCEL_TAKER = "cancel_taker"
    CANCEL_MAKER = "cancel_maker"
    CANCEL_BOTH = "cancel_both"


class Algorithm(StrEnum):
    FIFO = "fifo"
    PRO_RATA = "pro_rata"


class DoneReason(StrEnum):
    FILLED = "filled"
    CANCELLED = "cancelled"  # by its owner, or by self-trade prevention
    EXPIRED = "expired"  # IOC / market remainder, FOK that could not fill, a spent quote budget
    REJECTED = "rejected"  # post-only that would have taken; no quantity


@dataclass(slots=True)
class Order:
    id: int  # the sequence number: also its time priority; unique per book
    user: int
    side: Side
    quantity: int  # lots still open
    price: int | None = None  # ticks; None for a market order
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    self_trade: SelfTrade = SelfTrade.CANCEL_TAKER
    # The most price x lots the order may spend as a taker (ticks x lots): what sizes a market buy in
    # quote currency, or caps one sized in lots.
    quote_budget: int | None = None

    @property
    def is_market(self) -> bool:
        return self.price is None


# Events are slotted dataclasses with a hash but not frozen: a frozen one costs about four times as
# much to build, and the core builds at least one per command. Treat them as read-only.


@dataclass(slots=True, unsafe_hash=True)
class Trade:
    maker_order: int
    taker_order: int
    maker_user: int
    taker_user: int
    price: int
    quantity: int
    taker_side: Side


@dataclass(slots=True, unsafe_hash=True)
class Rested:
    """The order (or what is left of it) now rests on the book."""

    order: int
    quantity: int


@dataclass(slots=True, unsafe_hash=True)
class Done:
    """The order left the book, or never reached it, for good."""

    order: int
    reason: DoneReason
    remaining: int


Event = Trade | Rested | Done

_BUY = Side.BUY
_GTC = TimeInForce.GTC
_FOK = TimeInForce.FOK
_CANCEL_TAKER = SelfTrade.CANCEL_TAKER
_CANCEL_MAKER = SelfTrade.CANCEL_MAKER
_FILLED = DoneReason.FILLED
_CANCELLED = DoneReason.CANCELLED
_EXPIRED = DoneReason.EXPIRED
_REJECTED = DoneReason.REJECTED
_NO_LIMIT = float("-inf")  # a market order's limit key: every level crosses it
_user = attrgetter("user")
_quantity = attrgetter("quantity")
_COMPACT_AFTER = 32  # dead entries a level may carry before a cancel compacts it (if they are most of it)


class Level:
    """The resting orders at one price, oldest first.

    `queue` may hold orders that were cancelled from its middle (`dead` of them, no longer in the
    book's `orders`); `total` counts only the live ones. A level with no live order leaves its side.
    """

    __slots__ = ("dead", "price", "queue", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.queue: deque[Order] = deque()
        self.total = 0
        self.dead = 0

    def live(self, orders: dict[int, Order]) -> list[Order]:
        """Return the live orders, oldest first (`orders` is the book's)."""
        if not self.dead:
            return list(self.queue)
        return [m for m in self.queue if orders.get(m.id) is m]


class BookSide:
    """The resting orders of one side, by price level; the best level is always last in `ranked`."""

    __slots__ = ("keys", "levels", "ranked", "sign")

    def __init__(self, side: Side) -> None:
        self.sign = 1 if side is Side.BUY else -1
        self.levels: dict[int, Level] = {}
        # Sorted ascending; for bids the key is the price, for asks minus the price: best is last.
        self.keys: list[int] = []
        self.ranked: list[Level] = []  # the levels, in the order of `keys`

    def best(self) -> Level | None:
        return self.ranked[-1] if self.ranked else None

    def new_level(self, price: int) -> Level:
        level = self.levels[price] = Level(price)
        key = self.sign * price
        i = bisect_left(self.keys, key)
        self.keys.insert(i, key)
        self.ranked.insert(i, level)
        return level

    def drop(self, level: Level) -> None:
        del self.levels[level.price]
        if self.ranked[-1] is level:
            self.keys.pop()
            self.ranked.pop()
        else:
            i = bisect_left(self.keys, self.sign * level.price)
            del self.keys[i]
            del self.ranked[i]

    def levels_best_first(self) -> Iterator[Level]:
        return reversed(self.ranked)

    def depth(self, limit: int | None = None) -> list[tuple[int, int]]:
        """Return [(price, total quantity), ...] best first."""
        ranked = self.ranked if limit is None else self.ranked[-limit:] if limit > 0 else []
        return [(level.price, level.total) for level in reversed(ranked)]


class OrderBook:
    """One market's book. `place` and `cancel` return the events they cause, in order."""

    def __init__(self, algorithm: Algorithm = Algorithm.FIFO) -> None:
        self.algorithm = algorithm
        self.bids = BookSide(Side.BUY)
        self.asks = BookSide(Side.SELL)
        self.orders: dict[int, Order] = {}
        self._take = self._take_pro_rata if algorithm is Algorithm.PRO_RATA else self._take_fifo

    def side(self, side: Side) -> BookSide:
        return self.bids if side is Side.BUY else self.asks

    # --- commands -------------------------------------------------------------------------------

    def cancel(self, order_id: int) -> list[Event]:
        order = self.orders.pop(order_id, None)
        if order is None:
            return []  # filled or cancelled before: nothing to do
        side = self.bids if order.side is _BUY else self.asks
        assert order.price is not None  # noqa: S101  # nosec B101  # market orders never rest; a bug if they do
        level = side.levels[order.price]
        queue = level.queue
        if len(queue) - level.dead == 1:
            side.drop(level)  # it was the level's last live order
        else:
            level.total -= order.quantity
            if queue[-1] is order:
                queue.pop()
            elif queue[0] is order:
                queue.popleft()
            else:
                level.dead += 1
                if level.dead > _COMPACT_AFTER and level.dead * 2 > len(queue):
                    level.queue = deque(level.live(self.orders))
                    level.dead = 0
        return [Done(order_id, _CANCELLED, order.quantity)]

    def place(self, order: Order) -> list[Event]:
        quantity = order.quantity
        budget = order.quote_budget
        if quantity < 0 or (quantity == 0 and budget is None):
            return [Done(order.id, _REJECTED, 0)]
        price = order.price
        # Opposite levels are keyed so that the best is the largest key, and a level crosses the
        # order exactly when its key is at least the order's limit key.
        if order.side is _BUY:
            own, opposite = self.bids, self.asks
            limit: float = _NO_LIMIT if price is None else -price
        else:
            own, opposite = self.asks, self.bids
            limit = _NO_LIMIT if price is None else price
        keys = opposite.keys
        if not keys or keys[-1] < limit:  # nothing to take: the common case, kept short
            if quantity == 0:
                return [Done(order.id, _FILLED, 0)]
            if price is None or order.time_in_force is not _GTC:
                return [Done(order.id, _EXPIRED, quantity)]
            level = own.levels.get(price)  # _rest, inlined: most orders end here
            if level is None:
                level = own.new_level(price)
            level.queue.append(order)
            level.total += quantity
            self.orders[order.id] = order
            return [Rested(order.id, quantity)]
        if order.post_only:
            return [Done(order.id, _REJECTED, quantity)]
        if order.time_in_force is _FOK and self._fillable(order, opposite, limit) < quantity:
            return [Done(order.id, _EXPIRED, quantity)]
        events: list[Event] = []
        if quantity and not self._take(order, opposite, limit, events):
            return events  # self-trade prevention cancelled it
        quantity = order.quantity
        if quantity == 0:
            events.append(Done(order.id, _FILLED, 0))
        elif price is None or order.time_in_force is not _GTC:
            events.append(Done(order.id, _EXPIRED, quantity))
        else:
            self._rest(order, own, price, quantity)
            events.append(Rested(order.id, quantity))
        return events

    def _rest(self, order: Order, own: BookSide, price: int, quantity: int) -> None:
        level = own.levels.get(price)
        if level is None:
            level = own.new_level(price)
        level.queue.append(order)
        level.total += quantity
        self.orders[order.id] = order

    # --- matching --------------------------------------------------------------------------------
    # Both take the opposite side level by level while it crosses `limit`, the taker has quantity
    # left and its budget (if any) buys a lot at the level's price. They leave the taker's quantity
    # and budget updated and return whether the taker is still alive (self-trade prevention).

    def _take_fifo(self, taker: Order, opposite: BookSide, limit: float, events: list[Event]) -> bool:
        keys, ranked, orders, append = opposite.keys, opposite.ranked, self.orders, events.append
        taker_id, user, side = taker.id, taker.user, taker.side
        remaining, budget = taker.quantity, taker.quote_budget
        alive = True
        while keys and keys[-1] >= limit:
            level = ranked[-1]
            price = level.price
            if budget is not None and budget < price:
                break
            queue, dead, total = level.queue, level.dead, level.total
            while queue:
                maker = queue[0]
                if dead and orders.get(maker.id) is not maker:
                    queue.popleft()  # cancelled earlier
                    dead -= 1
                    continue
                if maker.user == user:
                    rule = taker.self_trade
                    if rule is not _CANCEL_TAKER:
                        queue.popleft()
                        del orders[maker.id]
                        total -= maker.quantity
                        append(Done(maker.id, _CANCELLED, maker.quantity))
                    if rule is not _CANCEL_MAKER:
                        append(Done(taker_id, _CANCELLED, remaining))
                        alive = False
                        break
                    continue
                available = maker.quantity
                quantity = remaining if remaining < available else available
                if budget is not None:
                    affordable = budget // price
                    if affordable < quantity:
                        if affordable == 0:
                            break
                        quantity = affordable
                    budget -= quantity * price
                append(Trade(maker.id, taker_id, maker.user, user, price, quantity, side))
                remaining -= quantity
                total -= quantity
                if quantity < available:
                    maker.quantity = available - quantity
                    break  # the taker has nothing (or no budget) left
                maker.quantity = 0
                queue.popleft()
                del orders[maker.id]
                append(Done(maker.id, _FILLED, 0))
                if not remaining:
                    break
            level.dead, level.total = dead, total
            if len(queue) == dead:
                del opposite.levels[price]
                keys.pop()
                ranked.pop()
            if not alive or not remaining:
                break
        taker.quantity, taker.quote_budget = remaining, budget
        return alive

    def _take_pro_rata(self, taker: Order, opposite: BookSide, limit: float, events: list[Event]) -> bool:
        keys, ranked, orders, append = opposite.keys, opposite.ranked, self.orders, events.append
        taker_id, user, side = taker.id, taker.user, taker.side
        remaining, budget = taker.quantity, taker.quote_budget
        alive = True
        while keys and keys[-1] >= limit:
            level = ranked[-1]
            price = level.price
            if budget is not None and budget < price:
                break
            makers = level.live(orders)
            removed = False
            if user in map(_user, makers):
                # Own orders at this level first: self-trade prevention decides before anything is shared.
                rule = taker.self_trade
                for maker in [m for m in makers if m.user == user]:
                    if rule is not _CANCEL_TAKER:
                        del orders[maker.id]
                        level.total -= maker.quantity
                        removed = True
                        append(Done(maker.id, _CANCELLED, maker.quantity))
                    if rule is not _CANCEL_MAKER:
                        append(Done(taker_id, _CANCELLED, remaining))
                        alive = False
                        break
                makers = [m for m in makers if orders.get(m.id) is m]
            if alive and makers:
                total = level.total
                incoming = remaining
                if budget is not None and budget // price < incoming:
                    incoming = budget // price
                if incoming >= total:
                    shares = list(map(_quantity, makers))
                    incoming = total
                else:
                    shares = [incoming * q // total for q in map(_quantity, makers)]
                    # Each share is below its maker's quantity here, so the lots left over (fewer
                    # than there are makers) go one each to the oldest makers.
                    for i in range(incoming - sum(shares)):
                        shares[i] += 1
                for maker, share in compress(zip(makers, shares, strict=True), shares):
                    append(Trade(maker.id, taker_id, maker.user, user, price, share, side))
                    maker.quantity -= share
                    if not maker.quantity:
                        del orders[maker.id]
                        removed = True
                        append(Done(maker.id, _FILLED, 0))
                remaining -= incoming
                level.total = total - incoming
                if budget is not None:
                    budget -= incoming * price
            if removed:
                level.queue, level.dead = deque(compress(makers, map(_quantity, makers))), 0
            if len(level.queue) == level.dead:
                opposite.drop(level)
            if not alive or not remaining:
                break
        taker.quantity, taker.quote_budget = remaining, budget
        return alive

    def _fillable(self, taker: Order, opposite: BookSide, limit: float) -> int:
        """How much of a FOK order could fill now, without touching the book.

        It walks the book the way matching would, including where self-trade prevention would
        cancel the taker: in time order (FIFO), or, in pro-rata, before anything at a level is shared.
        """
        available, wanted, budget, user = 0, taker.quantity, taker.quote_budget, taker.user
        cancels_maker = taker.self_trade is _CANCEL_MAKER
        pro_rata = self.algorithm is Algorithm.PRO_RATA
        for key, level in zip(reversed(opposite.keys), reversed(opposite.ranked), strict=True):
            if key < limit or available >= wanted:
                break
            makers = level.live(self.orders)
            if pro_rata and not cancels_maker and any(m.user == user for m in makers):
                return available  # the taker is cancelled on reaching this level
            for maker in makers:
                if maker.user == user:
                    if cancels_maker:
                        continue
                    return available  # the taker would be cancelled here
                take = min(maker.quantity, wanted - available)
                if budget is not None:
                    take = min(take, budget // level.price)
                    budget -= take * level.price
                available += take
                if available >= wanted:
                    return available
        return available

    # --- views ----------------------------------------------------------------------------------

    def depth(self, limit: int | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return self.bids.depth(limit), self.asks.depth(limit)
