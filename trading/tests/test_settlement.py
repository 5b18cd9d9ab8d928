"""Settlement and the market spec, pure: what the book's events do to balances and holds.

A hypothesis property drives the real book and the real settlement with random orders (limit and
market, every time in force, post-only, self-trades, market buys sized in either asset, cancels) of
a few traders, cut into random batches, each order holding what its type holds. After every batch:
its postings sum to zero per asset, no fee is negative, no hold is below zero, and what each trader
has locked is exactly what their live orders still hold, a resting order holds exactly what its rest
needs (a buy that took at better prices gave the difference back), and an order that ended holds
nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.core.money import MONEY
from trading.engine import Order, OrderBook, SelfTrade, Side, TimeInForce
from trading.engine import settlement as engine_settlement
from trading.engine.settlement import AVAILABLE, EXPIRED, FEES, LOCKED, Batch, Live, Settlement
from trading.engine.spec import Inexact, MarketSpec
from trading.models import OrderStatus
from wallets.models import AccountKind

D = Decimal
BASE, QUOTE = 1, 2
SPEC = MarketSpec(
    symbol="BTC-USDT",
    tick=D("0.01"),
    lot=D("0.0001"),
    base=BASE,
    quote=QUOTE,
    base_quantum=D("0.00000001"),
    quote_quantum=D("0.00000001"),
    maker_rate=D("0.001"),
    taker_rate=D("0.0025"),
)


def test_the_spec_converts_exactly_or_refuses() -> None:
    with localcontext(MONEY):
        assert SPEC.ticks(D("60000.01")) == 6000001
        assert SPEC.lots(D("0.1234")) == 1234
        assert SPEC.price(6000001) == D("60000.01")
        assert SPEC.quantity(1234) == D("0.1234")
        assert SPEC.notional(6000001, 1234) == D("60000.01") * D("0.1234")
        with pytest.raises(Inexact):
            SPEC.ticks(D("60000.005"))
        with pytest.raises(Inexact):
            SPEC.lots(D("0.00005"))
        # A budget is the one conversion that rounds, and it rounds down: never more than the hold pays.
        assert SPEC.affordable(D("0.0000019")) == 1
        assert SPEC.affordable(D("0.0000009")) == 0


def test_settlement_speaks_the_database_s_words() -> None:
    assert (AVAILABLE, LOCKED, FEES) == (AccountKind.USER_AVAILABLE, AccountKind.USER_LOCKED, AccountKind.FEE_REVENUE)
    for name in ("OPEN", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "EXPIRED", "REJECTED"):
        assert getattr(engine_settlement, name) == getattr(OrderStatus, name)


@dataclass(frozen=True)
class NewOrder:
    user: int
    is_buy: bool
    ticks: int | None  # None: a market order
    lots: int
    time_in_force: TimeInForce
    post_only: bool
    self_trade: SelfTrade
    quote_sized: bool  # a market buy sized by what it spends (its hold), not by lots


@dataclass(frozen=True)
class CancelOne:
    pick: int  # which earlier order, modulo how many there are


limit_orders = st.builds(
    NewOrder,
    user=st.integers(1, 3),
    is_buy=st.booleans(),
    ticks=st.integers(9_990, 10_010),
    lots=st.integers(1, 30),
    time_in_force=st.sampled_from(TimeInForce),
    post_only=st.booleans(),
    self_trade=st.sampled_from(SelfTrade),
    quote_sized=st.just(False),
)
market_orders = st.builds(
    NewOrder,
    user=st.integers(1, 3),
    is_buy=st.booleans(),
    ticks=st.none(),
    lots=st.integers(1, 30),
    time_in_force=st.just(TimeInForce.IOC),
    post_only=st.just(False),
    self_trade=st.sampled_from(SelfTrade),
    quote_sized=st.booleans(),
)
commands = st.lists(
    st.one_of(limit_orders, limit_orders, market_orders, st.builds(CancelOne, st.integers(0, 1000))),
    min_size=1,
    max_size=60,
)


def hold_of(command: NewOrder) -> Decimal:
    """What the order types hold: a sell its quantity; a limit buy its cost; a market buy a band above the book."""
    if not command.is_buy:
        return SPEC.quantity(command.lots)
    ticks = command.ticks if command.ticks is not None else 10_200  # above every ask of the workload
    return SPEC.notional(ticks, command.lots)


def order_of(pk: int, command: NewOrder, hold: Decimal) -> tuple[Live, Order]:
    live = Live(
        pk=pk,
        user_id=command.user,
        side="buy" if command.is_buy else "sell",
        type="limit" if command.ticks is not None else "market",
        price=None if command.ticks is None else SPEC.price(command.ticks),
        quantity=None if command.quote_sized else SPEC.quantity(command.lots),
        quote_sized=command.quote_sized,
        time_in_force=command.time_in_force.value,
        post_only=command.post_only,
        self_trade=command.self_trade.value,
        hold_remaining=hold,
        filled_quantity=D(0),
        filled_quote=D(0),
        fee=D(0),
        status="pending",
        params=engine_settlement.NO_PARAMS,
    )
    live.ticks = command.ticks or 0
    budget = SPEC.affordable(hold) if command.ticks is None and command.is_buy else None
    order = Order(
        id=pk,
        user=command.user,
        side=Side.BUY if command.is_buy else Side.SELL,
        quantity=budget if command.quote_sized and budget is not None else command.lots,
        price=command.ticks,
        time_in_force=command.time_in_force,
        post_only=command.post_only,
        self_trade=command.self_trade,
        quote_budget=budget,
    )
    return live, order


@settings(max_examples=150, deadline=None)
@given(commands=commands, cuts=st.lists(st.integers(1, 10), min_size=1, max_size=10))
def test_each_batch_balances_per_asset_and_no_fee_or_hold_goes_negative(
    commands: list[NewOrder | CancelOne], cuts: list[int]
) -> None:
    with localcontext(MONEY):
        book = OrderBook()
        settlement = Settlement(SPEC, lambda live: (EXPIRED, "immediate_or_cancel"))
        locked: dict[tuple[int, int], Decimal] = defaultdict(Decimal)  # (user, asset): what the ledger holds
        placed: list[Live] = []
        position, pk = 0, 0
        while position < len(commands):
            size = cuts[len(placed) % len(cuts)]
            batch = Batch()
            for command in commands[position : position + size]:
                if isinstance(command, CancelOne):
                    if placed:
                        for event in book.cancel(placed[command.pick % len(placed)].pk):
                            settlement.apply(event, batch, taker=None)
                    continue
                pk += 1
                hold = hold_of(command)
                live, order = order_of(pk, command, hold)
                locked[(live.user_id, QUOTE if live.is_buy else BASE)] += hold  # placing the order held it
                placed.append(live)
                settlement.live[pk] = live
                batch.touched[pk] = live
                for event in book.place(order):
                    settlement.apply(event, batch, taker=live)
                settlement.release_excess(live, batch)
            position += size

            for asset in (BASE, QUOTE):
                assert sum(amount for (_, a, _), amount in batch.deltas.items() if a == asset) == 0
            assert all(amount >= 0 for (_, _, kind), amount in batch.deltas.items() if kind == FEES)
            assert all(live.fee >= 0 and live.hold_remaining >= 0 for live in placed)
            for (user, asset, kind), amount in batch.deltas.items():
                if kind == LOCKED and user is not None:
                    locked[(user, asset)] += amount
            still_held: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
            for live in placed:
                if live.pk in settlement.live:  # resting: it holds exactly what its rest needs
                    assert live.quantity is not None
                    assert live.price is not None
                    rest = live.quantity - live.filled_quantity
                    assert live.hold_remaining == (rest * live.price if live.is_buy else rest)
                    still_held[(live.user_id, QUOTE if live.is_buy else BASE)] += live.hold_remaining
                else:
                    assert live.hold_remaining == 0, f"order {live.pk} ended ({live.status}) still holding"
            assert {key: amount for key, amount in locked.items() if amount} == {
                key: amount for key, amount in still_held.items() if amount
            }
