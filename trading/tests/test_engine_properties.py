"""Property tests of the matching core against a small reference model that is obviously correct.

The reference keeps resting orders in one list and, for each incoming order, picks the single best
maker by (price, arrival) again and again. For FIFO markets the engine must produce exactly the same
events; for pro-rata markets the allocation rules are checked directly. Either way: no order fills
beyond its quantity, post-only never takes, FOK is all or nothing, nobody trades with themself,
quantity is conserved, and a market buy with a quote budget (alone or beside a quantity) never spends
beyond it and stops only when one of the two runs out.
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
        side = draw(st.sampled_from(Side))
        quantity = draw(st.integers(1, 20))
        budget = None
        if market and side is Side.BUY:
            # None, sized in quote only (quantity out of reach), or both: whichever runs out first.
            sizing = draw(st.sampled_from(["lots", "quote", "both"]))
            if sizing != "lots":
                budget = draw(st.integers(0, 2500))
            if sizing == "quote":
                quantity = 10**6
        out.append(
            Order(
                id=i,
                user=draw(st.integers(0, 3)),
                side=side,
                quantity=quantity,
                price=None if market else draw(st.integers(95, 105)),
                time_in_force=draw(st.sampled_from(TimeInForce)) if not market else TimeInForce.IOC,
                post_only=not market and draw(st.integers(0, 9)) == 0,
                self_trade=draw(st.sampled_from(SelfTrade)),
                quote_budget=budget,
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


def check_quote_budgets(book: OrderBook, script: list[Order | Cancel], events: list[Event]) -> None:
    """A taker with a budget never spends beyond it, and is FILLED only if its quantity ran out."""
    orders = {c.id: c for c in script if isinstance(c, Order)}
    for order in orders.values():
        if order.quote_budget is None:
            continue
        trades = [e for e in events if isinstance(e, Trade) and e.taker_order == order.id]
        spent = sum(t.price * t.quantity for t in trades)
        traded = sum(t.quantity for t in trades)
        assert spent <= order.quote_budget, f"order {order.id} spent beyond its budget"
        assert traded <= order.quantity
        (done,) = [e for e in events if isinstance(e, Done) and e.order == order.id]
        if done.reason is DoneReason.FILLED:
            assert traded == order.quantity, "FILLED means the quantity ran out"
        if done.reason is DoneReason.EXPIRED:
            assert done.remaining == order.quantity - traded


@given(
    asks=st.lists(st.tuples(st.integers(95, 105), st.integers(1, 20)), max_size=12),
    quantity=st.integers(1, 100),
    budget=st.integers(0, 5000),
    algorithm=st.sampled_from(Algorithm),
)
def test_a_market_buy_with_quantity_and_budget_stops_only_when_one_runs_out(asks, quantity, budget, algorithm):
    book = OrderBook(algorithm)
    for i, (price, lots) in enumerate(asks, start=1):
        book.place(Order(id=i, user=1 + i % 3, side=Side.SELL, quantity=lots, price=price))
    events = book.place(Order(id=99, user=0, side=Side.BUY, quantity=quantity, quote_budget=budget,
                              time_in_force=TimeInForce.IOC))  # fmt: skip
    trades = [e for e in events if isinstance(e, Trade)]
    spent = sum(t.price * t.quantity for t in trades)
    traded = sum(t.quantity for t in trades)
    assert spent <= budget
    assert traded <= quantity
    best = book.asks.best()
    assert all(best is None or t.price <= best.price for t in trades), "it skipped a cheaper ask"
    if traded == quantity:
        assert events[-1] == Done(99, DoneReason.FILLED, 0)
    else:
        assert events[-1] == Done(99, DoneReason.EXPIRED, quantity - traded)
        assert best is None or budget - spent < best.price, "it stopped with budget for another lot"


def test_a_market_buy_stops_at_whichever_of_quantity_and_budget_runs_out_first():
    def buy(quantity: int, budget: int) -> tuple[list[tuple[int, int]], Done]:
        book = OrderBook()
        book.place(Order(id=1, user=1, side=Side.SELL, quantity=5, price=100))
        book.place(Order(id=2, user=1, side=Side.SELL, quantity=5, price=110))
        events = book.place(Order(id=3, user=2, side=Side.BUY, quantity=quantity, quote_budget=budget,
                                  time_in_force=TimeInForce.IOC))  # fmt: skip
        done = events[-1]
        assert isinstance(done, Done)
        return [(e.price, e.quantity) for e in events if isinstance(e, Trade)], done

    # The quantity runs out first: filled, budget left over.
    assert buy(6, 10_000) == ([(100, 5), (110, 1)], Done(3, DoneReason.FILLED, 0))
    # The budget runs out first (it buys 5 at 100 and 2 at 110, not a third): expired with 3 lots open.
    assert buy(10, 720) == ([(100, 5), (110, 2)], Done(3, DoneReason.EXPIRED, 3))
    # Spent to the last tick with lots still open is still the budget running out, not a fill.
    assert buy(10, 500) == ([(100, 5)], Done(3, DoneReason.EXPIRED, 5))
    # A budget that buys nothing takes nothing.
    assert buy(10, 99) == ([], Done(3, DoneReason.EXPIRED, 10))


def test_cancels_from_the_middle_of_a_level_are_skipped_and_compacted():
    """Many cancels inside one price level (lazily removed, then compacted) change nothing matching sees."""
    script: list[Order | Cancel] = [Order(id=i, user=i, side=Side.SELL, quantity=3, price=100) for i in range(1, 101)]
    script += [Cancel(i) for i in range(20, 80)]  # 60 from the middle: past the compaction threshold
    script += [Cancel(1), Cancel(100)]  # and both ends
    script.append(Order(id=200, user=0, side=Side.BUY, quantity=70, price=100))
    script += [Order(id=201, user=1, side=Side.SELL, quantity=4, price=100), Cancel(85)]
    script.append(Order(id=202, user=0, side=Side.BUY, quantity=1000, price=101, time_in_force=TimeInForce.IOC))
    for algorithm in (Algorithm.FIFO, Algorithm.PRO_RATA):
        book = OrderBook(algorithm)
        events = run(book, script[:-1])
        check_conservation(book, script, events)
        assert book.depth() == ([], [(100, sum(o.quantity for o in book.orders.values()))])
        assert len(book.asks.levels[100].queue) < 60, "cancelled orders pile up in the level"
        events += run(book, script[-1:])
        assert book.depth() == ([], [])
        assert not book.orders
        check_common_properties(script, events)
        if algorithm is Algorithm.FIFO:
            assert events == run(ReferenceFifo(), script)


@settings(max_examples=300, deadline=None)
@given(script=commands())
def test_fifo_matches_the_reference_exactly(script):
    book = OrderBook(Algorithm.FIFO)
    events = run(book, script)
    assert events == run(ReferenceFifo(), script)
    check_common_properties(script, events)
    check_conservation(book, script, events)
    check_quote_budgets(book, script, events)


@settings(max_examples=300, deadline=None)
@given(script=commands())
def test_pro_rata_keeps_every_property(script):
    book = OrderBook(Algorithm.PRO_RATA)
    events = run(book, script)
    check_common_properties(script, events)
    check_conservation(book, script, events)
    check_quote_budgets(book, script, events)


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
