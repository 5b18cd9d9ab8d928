"""The matching core: one market's order book and the rules that match an incoming order against it.

Pure Python, no Django: prices are integers (ticks) and quantities integers (lots); the worker
converts at the edge. Deterministic: the same commands in the same order give the same events.

Price-time FIFO: at each price, the oldest resting order trades first. Pro-rata: at the best price,
an incoming quantity smaller than the level is shared in proportion to resting size, rounded down to
lots; the lots left over go one at a time to the makers in time order (so no maker is more than one
lot away from its exact share). Orders: limit and market (market buys may carry a quote budget),
time in force GTC / IOC / FOK, post-only, and self-trade prevention per taker.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


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
    EXPIRED = "expired"  # IOC / market remainder, FOK that could not fill
    REJECTED = "rejected"  # post-only that would have taken


@dataclass(slots=True)
class Order:
    id: int  # the sequence number: also its time priority
    user: int
    side: Side
    quantity: int  # lots still open
    price: int | None = None  # ticks; None for a market order
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    self_trade: SelfTrade = SelfTrade.CANCEL_TAKER
    # Market buys sized in quote currency: the most price x lots they may spend (in ticks x lots).
    quote_budget: int | None = None

    @property
    def is_market(self) -> bool:
        return self.price is None


@dataclass(frozen=True, slots=True)
class Trade:
    maker_order: int
    taker_order: int
    maker_user: int
    taker_user: int
    price: int
    quantity: int
    taker_side: Side


@dataclass(frozen=True, slots=True)
class Rested:
    """The order (or what is left of it) now rests on the book."""

    order: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Done:
    """The order left the book, or never reached it, for good."""

    order: int
    reason: DoneReason
    remaining: int


Event = Trade | Rested | Done


@dataclass(slots=True)
class Level:
    price: int
    # Insertion order is time priority; a dict removes any order in O(1).
    orders: dict[int, Order] = field(default_factory=dict)
    total: int = 0


class BookSide:
    """The resting orders of one side, by price level; the best level is always at the end of `keys`."""

    __slots__ = ("keys", "levels", "side")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.levels: dict[int, Level] = {}
        # Sorted ascending; for bids the key is the price, for asks minus the price: best is last.
        self.keys: list[int] = []

    def _key(self, price: int) -> int:
        return price if self.side is Side.BUY else -price

    def best(self) -> Level | None:
        return self.levels[self.keys[-1] if self.side is Side.BUY else -self.keys[-1]] if self.keys else None

    def add(self, order: Order) -> None:
        assert order.price is not None  # noqa: S101  (market orders never rest; a bug if they do)
        level = self.levels.get(order.price)
        if level is None:
            level = self.levels[order.price] = Level(order.price)
            insort(self.keys, self._key(order.price))
        level.orders[order.id] = order
        level.total += order.quantity

    def remove(self, order: Order) -> None:
        assert order.price is not None  # noqa: S101
        level = self.levels[order.price]
        del level.orders[order.id]
        level.total -= order.quantity
        if not level.orders:
            self._drop(level)

    def _drop(self, level: Level) -> None:
        del self.levels[level.price]
        key = self._key(level.price)
        if self.keys[-1] == key:
            self.keys.pop()
        else:
            self.keys.remove(key)

    def levels_best_first(self) -> Iterator[Level]:
        for key in reversed(self.keys):
            yield self.levels[key if self.side is Side.BUY else -key]

    def depth(self, limit: int | None = None) -> list[tuple[int, int]]:
        """Return [(price, total quantity), ...] best first."""
        out = []
        for level in self.levels_best_first():
            out.append((level.price, level.total))
            if limit is not None and len(out) >= limit:
                break
        return out


def _crosses(taker: Order, level_price: int) -> bool:
    if taker.price is None:
        return True
    return level_price <= taker.price if taker.side is Side.BUY else level_price >= taker.price


class OrderBook:
    """One market's book. `place` and `cancel` return the events they cause, in order."""

    def __init__(self, algorithm: Algorithm = Algorithm.FIFO) -> None:
        self.algorithm = algorithm
        self.bids = BookSide(Side.BUY)
        self.asks = BookSide(Side.SELL)
        self.orders: dict[int, Order] = {}

    def side(self, side: Side) -> BookSide:
        return self.bids if side is Side.BUY else self.asks

    # --- commands -------------------------------------------------------------------------------

    def cancel(self, order_id: int) -> list[Event]:
        order = self.orders.pop(order_id, None)
        if order is None:
            return []  # filled or cancelled before: nothing to do
        self.side(order.side).remove(order)
        return [Done(order.id, DoneReason.CANCELLED, order.quantity)]

    def place(self, order: Order) -> list[Event]:
        if order.quantity <= 0 and order.quote_budget is None:
            return [Done(order.id, DoneReason.REJECTED, 0)]
        events: list[Event] = []
        opposite = self.side(order.side.opposite)
        best = opposite.best()
        if order.post_only and best is not None and _crosses(order, best.price):
            return [Done(order.id, DoneReason.REJECTED, order.quantity)]
        if order.time_in_force is TimeInForce.FOK and self._fillable(order) < order.quantity:
            return [Done(order.id, DoneReason.EXPIRED, order.quantity)]

        taker_alive = self._match(order, opposite, events)

        if not taker_alive:
            return events
        if order.quantity == 0 or (order.quote_budget is not None and order.quote_budget <= 0):
            events.append(Done(order.id, DoneReason.FILLED, 0))
        elif order.is_market or order.time_in_force is not TimeInForce.GTC:
            events.append(Done(order.id, DoneReason.EXPIRED, order.quantity))
        else:
            self.side(order.side).add(order)
            self.orders[order.id] = order
            events.append(Rested(order.id, order.quantity))
        return events

    # --- matching --------------------------------------------------------------------------------

    def _affordable(self, taker: Order, price: int, quantity: int) -> int:
        if taker.quote_budget is None:
            return quantity
        return min(quantity, taker.quote_budget // price)

    def _fill(self, taker: Order, maker: Order, quantity: int, level: Level, events: list[Event]) -> None:
        price = level.price
        events.append(Trade(maker.id, taker.id, maker.user, taker.user, price, quantity, taker.side))
        taker.quantity -= quantity
        if taker.quote_budget is not None:
            taker.quote_budget -= quantity * price
        maker.quantity -= quantity
        level.total -= quantity
        if maker.quantity == 0:
            del level.orders[maker.id]
            del self.orders[maker.id]
            events.append(Done(maker.id, DoneReason.FILLED, 0))

    def _remove_maker(self, maker: Order, level: Level, events: list[Event]) -> None:
        del level.orders[maker.id]
        del self.orders[maker.id]
        level.total -= maker.quantity
        events.append(Done(maker.id, DoneReason.CANCELLED, maker.quantity))

    def _match(self, taker: Order, opposite: BookSide, events: list[Event]) -> bool:
        """Match until the taker is done or stops crossing; return whether the taker is still alive."""
        while taker.quantity > 0:
            level = opposite.best()
            if level is None or not _crosses(taker, level.price):
                break
            if self._affordable(taker, level.price, 1) == 0:
                break  # the quote budget cannot buy another lot
            alive = (
                self._match_level_pro_rata(taker, level, events)
                if self.algorithm is Algorithm.PRO_RATA
                else self._match_level_fifo(taker, level, events)
            )
            if not level.orders:
                opposite._drop(level)
            if not alive:
                return False
        return True

    def _self_trade(self, taker: Order, maker: Order, level: Level, events: list[Event]) -> bool:
        """Apply the taker's self-trade rule to one of its own makers; return whether the taker lives."""
        if taker.self_trade in (SelfTrade.CANCEL_MAKER, SelfTrade.CANCEL_BOTH):
            self._remove_maker(maker, level, events)
        if taker.self_trade in (SelfTrade.CANCEL_TAKER, SelfTrade.CANCEL_BOTH):
            events.append(Done(taker.id, DoneReason.CANCELLED, taker.quantity))
            return False
        return True

    def _match_level_fifo(self, taker: Order, level: Level, events: list[Event]) -> bool:
        for maker in list(level.orders.values()):
            if taker.quantity == 0:
                break
            if maker.user == taker.user:
                if not self._self_trade(taker, maker, level, events):
                    return False
                continue
            quantity = self._affordable(taker, level.price, min(taker.quantity, maker.quantity))
            if quantity == 0:
                break
            self._fill(taker, maker, quantity, level, events)
        return True

    def _match_level_pro_rata(self, taker: Order, level: Level, events: list[Event]) -> bool:
        # Own orders at this level first: self-trade prevention decides before anything is shared.
        for maker in [m for m in level.orders.values() if m.user == taker.user]:
            if not self._self_trade(taker, maker, level, events):
                return False
        makers = list(level.orders.values())
        if not makers:
            return True
        incoming = self._affordable(taker, level.price, taker.quantity)
        if incoming == 0:
            return True
        if incoming >= level.total:
            shares = [m.quantity for m in makers]
        else:
            total = level.total
            shares = [incoming * m.quantity // total for m in makers]
            left = incoming - sum(shares)
            while left > 0:  # one lot at a time, oldest first, to makers with room
                for i, maker in enumerate(makers):
                    if left and shares[i] < maker.quantity:
                        shares[i] += 1
                        left -= 1
        for maker, share in zip(makers, shares, strict=True):
            if share:
                self._fill(taker, maker, share, level, events)
        return True

    def _fillable(self, taker: Order) -> int:
        """How much of a FOK order could fill now, without touching the book.

        It walks the book the way matching would, including where self-trade prevention would
        cancel the taker: in time order (FIFO), or, in pro-rata, before anything at a level is shared.
        """
        opposite = self.side(taker.side.opposite)
        available = 0
        budget = taker.quote_budget
        for level in opposite.levels_best_first():
            if not _crosses(taker, level.price) or available >= taker.quantity:
                break
            makers = list(level.orders.values())
            pro_rata_cancels_taker = (
                self.algorithm is Algorithm.PRO_RATA
                and taker.self_trade is not SelfTrade.CANCEL_MAKER
                and any(m.user == taker.user for m in makers)
            )
            if pro_rata_cancels_taker:
                return available  # the taker is cancelled on reaching this level
            for maker in makers:
                if maker.user == taker.user:
                    if taker.self_trade is SelfTrade.CANCEL_MAKER:
                        continue
                    return available  # the taker would be cancelled here
                take = min(maker.quantity, taker.quantity - available)
                if budget is not None:
                    take = min(take, budget // level.price)
                    budget -= take * level.price
                available += take
                if available >= taker.quantity:
                    return available
        return available

    # --- views ----------------------------------------------------------------------------------

    def depth(self, limit: int | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return self.bids.depth(limit), self.asks.depth(limit)
