"""Property tests of the matching core against a small reference model that is obviously correct.

The reference keeps resting orders in one list and, for each incoming order, picks the single best
maker by (price, arrival) again and again. For FIFO markets the engine must produce exactly the same
events; for pro-rata markets the allocation rules are checked directly. Either way: no order fills
beyond its quantity, post-only never takes, FOK is all or nothing, nobody trades with themself, and
quantity is conserved.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.engine import (
    Algorithm,
    Done,
    DoneReason,
    Event,
    Order,
    OrderBook,
    Rested,
    SelfTrade,
    Side,
    TimeInForce,
    Trade,
)


@dataclass(frozen=True)
class Cancel:
    order_id: int


def _crosses(taker: Order, price: int) -> bool:
    if taker.price is None:
        return True
    return price <= taker.price if taker.side is Side.BUY else price >= taker.price


class ReferenceFifo:
    """Price-time priority done the slow, plain way."""

    def __init__(self) -> None:
        self.resting: list[Order] = []

    def _best(self, taker: Order) -> Order | None:
        candidates = [m for m in self.resting if m.side is not taker.side and _crosses(taker, m.price or 0)]
        if not candidates:
            return None
        sign = 1 if taker.side is Side.BUY else -1  # a buyer wants the lowest ask first
        return min(candidates, key=lambda m: (sign * (m.price or 0), m.id))

    def _fillable(self, taker: Order) -> int:
        trial = copy.deepcopy(self)
        probe = copy.copy(taker)
        probe.time_in_force = TimeInForce.IOC
        events = trial._match(probe)
        return sum(e.quantity for e in events if isinstance(e, Trade))

    def _match(self, taker: Order) -> list[Event]:
        events: list[Event] = []
        while taker.quantity > 0:
            maker = self._best(taker)
            if maker is None:
                break
            if taker.quote_budget is not None and taker.quote_budget < (maker.price or 0):
                break
            if maker.user == taker.user:
                if taker.self_trade in (SelfTrade.CANCEL_MAKER, SelfTrade.CANCEL_BOTH):
                    self.resting.remove(maker)
                    events.append(Done(maker.id, DoneReason.CANCELLED, maker.quantity))
                if taker.self_trade in (SelfTrade.CANCEL_TAKER, SelfTrade.CANCEL_BOTH):
                    events.append(Done(taker.id, DoneReason.CANCELLED, taker.quantity))
                    taker.quantity = -1  # marks "cancelled" for the caller
                    return events
                continue
            quantity = min(taker.quantity, maker.quantity)
            if taker.quote_budget is not None:
                quantity = min(quantity, taker.quote_budget // (maker.price or 1))
            events.append(Trade(maker.id, taker.id, maker.user, taker.user, maker.price or 0, quantity, taker.side))
            taker.quantity -= quantity
            if taker.quote_budget is not None:
                taker.quote_budget -= quantity * (maker.price or 0)
            maker.quantity -= quantity
            if maker.quantity == 0:
                self.resting.remove(maker)
                events.append(Done(maker.id, DoneReason.FILLED, 0))
        return events

    def place(self, order: Order) -> list[Event]:
        if order.post_only and self._best(order) is not None:
            return [Done(order.id, DoneReason.REJECTED, order.quantity)]
        if order.time_in_force is TimeInForce.FOK and self._fillable(order) < order.quantity:
            return [Done(order.id, DoneReason.EXPIRED, order.quantity)]
        events = self._match(order)
        if order.quantity < 0:
            return events
        if order.quantity == 0:
            events.append(Done(order.id, DoneReason.FILLED, 0))
        elif order.price is None or order.time_in_force is not TimeInForce.GTC:
            events.append(Done(order.id, DoneReason.EXPIRED, order.quantity))
        else:
            self.resting.append(order)
            events.append(Rested(order.id, order.quantity))
        return events

    def cancel(self, order_id: int) -> list[Event]:
        for order in self.resting:
            if order.id == order_id:
                self.resting.remove(order)
                return [Done(order.id, DoneReason.CANCELLED, order.quantity)]
        return []


@st.composite
def commands(draw: st.DrawFn) -> list[Order | Cancel]:
    out: list[Order | Cancel] = []
    count = draw(st.integers(1, 60))
    for i in range(1, count + 1):
        if out and draw(st.integers(0, 9)) == 0:
            out.append(Cancel(draw(st.integers(1, i))))
            continue
        market = draw(st.integers(0, 9)) == 0
        out.append(
            Order(
                id=i,
                user=draw(st.integers(0, 3)),
                side=draw(st.sampled_from(Side)),
                quantity=draw(st.integers(1, 20)),
                price=None if market else draw(st.integers(95, 105)),
                time_in_force=draw(st.sampled_from(TimeInForce)) if not market else TimeInForce.IOC,
                post_only=not market and draw(st.integers(0, 9)) == 0,
                self_trade=draw(st.sampled_from(SelfTrade)),
            )
        )
    return out


def run(book: OrderBook | ReferenceFifo, script: list[Order | Cancel]) -> list[Event]:
    events: list[Event] = []
    for command in copy.deepcopy(script):
        events += book.cancel(command.order_id) if isinstance(command, Cancel) else book.place(command)
    return events


def check_common_properties(script: list[Order | Cancel], events: list[Event]) -> None:
    orders = {c.id: c for c in script if isinstance(c, Order)}
    filled: dict[int, int] = defaultdict(int)
    for event in events:
        if isinstance(event, Trade):
            assert event.maker_user != event.taker_user, "a user traded with themself"
            assert not orders[event.taker_order].post_only, "a post-only order took liquidity"
            assert event.quantity > 0
            filled[event.taker_order] += event.quantity
            filled[event.maker_order] += event.quantity
    for order_id, quantity in filled.items():
        assert quantity <= orders[order_id].quantity, f"order {order_id} filled beyond its quantity"
    for order in orders.values():
        if order.time_in_force is TimeInForce.FOK and order.price is not None:
            taken = sum(e.quantity for e in events if isinstance(e, Trade) and e.taker_order == order.id)
            assert taken in (0, order.quantity), f"FOK order {order.id} partly filled as taker"
    # Every order ends in exactly one final state or rests; never both, never twice.
    done = [e.order for e in events if isinstance(e, Done)]
    assert len(done) == len(set(done)), "an order finished twice"


def check_conservation(book: OrderBook, script: list[Order | Cancel], events: list[Event]) -> None:
    """Resting quantity = placed - traded - removed, per order."""
    orders = {c.id: c for c in script if isinstance(c, Order)}
    for order_id, resting in book.orders.items():
        traded = sum(e.quantity for e in events if isinstance(e, Trade) and order_id in (e.maker_order, e.taker_order))
        assert resting.quantity == orders[order_id].quantity - traded
    bid_levels = sum(level.total for level in book.bids.levels.values())
    ask_levels = sum(level.total for level in book.asks.levels.values())
    assert bid_levels + ask_levels == sum(o.quantity for o in book.orders.values())


@settings(max_examples=300, deadline=None)
@given(script=commands())
def test_fifo_matches_the_reference_exactly(script):
    book = OrderBook(Algorithm.FIFO)
    events = run(book, script)
    assert events == run(ReferenceFifo(), script)
    check_common_properties(script, events)
    check_conservation(book, script, events)


@settings(max_examples=300, deadline=None)
@given(script=commands())
def test_pro_rata_keeps_every_property(script):
    book = OrderBook(Algorithm.PRO_RATA)
    events = run(book, script)
    check_common_properties(script, events)
    check_conservation(book, script, events)


@settings(max_examples=100, deadline=None)
@given(script=commands())
def test_the_same_commands_give_the_same_events(script):
    for algorithm in Algorithm:
        assert run(OrderBook(algorithm), script) == run(OrderBook(algorithm), script)


@given(
    makers=st.lists(st.integers(1, 50), min_size=1, max_size=8),
    incoming_share=st.floats(0.01, 0.99),
)
def test_pro_rata_shares_are_within_one_lot_of_proportional(makers, incoming_share):
    book = OrderBook(Algorithm.PRO_RATA)
    for i, quantity in enumerate(makers, start=1):
        book.place(Order(id=i, user=i, side=Side.SELL, quantity=quantity, price=100))
    total = sum(makers)
    incoming = max(1, int(total * incoming_share))
    events = book.place(Order(id=99, user=0, side=Side.BUY, quantity=incoming, price=100))
    shares = {e.maker_order: e.quantity for e in events if isinstance(e, Trade)}
    assert sum(shares.values()) == incoming
    for i, quantity in enumerate(makers, start=1):
        share = shares.get(i, 0)
        assert share <= quantity
        assert abs(share - incoming * quantity / total) < 1 + 1e-9, (share, incoming, quantity, total)


def test_pro_rata_remainder_goes_by_time_priority():
    book = OrderBook(Algorithm.PRO_RATA)
    for i in (1, 2, 3):
        book.place(Order(id=i, user=i, side=Side.SELL, quantity=10, price=100))
    events = book.place(Order(id=9, user=0, side=Side.BUY, quantity=4, price=100))
    # 4 x 10/30 = 1.33 each: one lot each, the one left over to the oldest.
    assert [(e.maker_order, e.quantity) for e in events if isinstance(e, Trade)] == [(1, 2), (2, 1), (3, 1)]


def test_a_market_buy_sized_in_quote_stops_at_its_budget():
    book = OrderBook()
    book.place(Order(id=1, user=1, side=Side.SELL, quantity=5, price=100))
    book.place(Order(id=2, user=1, side=Side.SELL, quantity=5, price=110))
    events = book.place(Order(id=3, user=2, side=Side.BUY, quantity=10**9, quote_budget=720,
                              time_in_force=TimeInForce.IOC))  # fmt: skip
    trades = [(e.price, e.quantity) for e in events if isinstance(e, Trade)]
    assert trades == [(100, 5), (110, 2)]  # 500 + 220 = 720
    assert book.depth() == ([], [(110, 3)])
