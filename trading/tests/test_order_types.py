"""The order-type registry and the engine's hooks for a type that waits off the book.

The registry's own types (limit, market) are listed and checked through it. Then a type of this
test's own, registered for its duration, proves the extension points a new type uses: a limit
order that waits, untriggered and off the book, until the market's last trade price reaches its
`trigger_price`. Its module is the class below and its engine part `WaitForPrice`, which is what a
real stop type brings (CONTRIBUTING.md, "Add an order type"). The ledger audit runs after each test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from exchange.core.errors import ValidationFailed
from trading import order_types, selectors, services
from trading.engine import Order as EngineOrder
from trading.engine import Side as EngineSide
from trading.engine.spec import MarketSpec
from trading.models import Market, Order, OrderStatus
from trading.order_types import OrderRequest, Param, ValidOrder, amount, on_step, refuse
from trading.order_types.limit import Limit
from trading.tests.factories import balance, drain, engine_for, markets, trader

pytestmark = pytest.mark.django_db

D = Decimal
NAME = "wait_for_price"


def reached(order: EngineOrder, trigger: int, last_price: int) -> bool:
    """A buy waits for the price to rise to its trigger, a sell for it to fall to its trigger (a stop)."""
    return last_price >= trigger if order.side is EngineSide.BUY else last_price <= trigger


class WaitForPrice:
    """The engine part: the waiting orders and their triggers, released in sequence order."""

    def __init__(self) -> None:
        self.waiting: dict[int, tuple[EngineOrder, int]] = {}

    def take(self, order: EngineOrder, params: Mapping[str, int], last_price: int | None) -> bool:
        if last_price is not None and reached(order, params["trigger_price"], last_price):
            return False
        self.restore(order, params)
        return True

    def restore(self, order: EngineOrder, params: Mapping[str, int]) -> None:
        self.waiting[order.id] = (order, params["trigger_price"])

    def cancel(self, order_id: int) -> bool:
        return self.waiting.pop(order_id, None) is not None

    def released(self, last_price: int) -> list[EngineOrder]:
        due = sorted(order.id for order, trigger in self.waiting.values() if reached(order, trigger, last_price))
        return [self.waiting.pop(order_id)[0] for order_id in due]


class LimitWhenPriceReaches(Limit):
    name = NAME
    label = "Limit when price reaches"
    position = 90
    params = (Param("trigger_price", "Trigger price", "The last trade price at which the order goes to the book."),)
    engine_part = WaitForPrice
    waiting_status = OrderStatus.UNTRIGGERED

    def validate(self, request: OrderRequest, market: Market, order: ValidOrder) -> ValidOrder:
        order = super().validate(request, market, order)
        raw = request.params.get("trigger_price")
        if raw in (None, ""):
            raise refuse("trigger_price", "This order needs a trigger_price.")
        trigger = on_step(amount(raw, "trigger_price"), market.tick_size, "trigger_price", "tick size")
        return replace(order, params={"trigger_price": f"{trigger:f}"})

    def engine_params(self, params: Mapping[str, str], spec: MarketSpec) -> dict[str, int]:
        return {"trigger_price": spec.ticks(Decimal(params["trigger_price"]))}


@pytest.fixture
def waiting_type() -> Iterator[None]:
    order_types.register(LimitWhenPriceReaches())
    yield
    order_types.unregister(NAME)


@pytest.fixture
def traders(db: Any) -> dict[str, Any]:
    markets()
    return {
        "alice": trader("alice", BTC="2", USDT="100000"),
        "bob": trader("bob", BTC="2", USDT="100000"),
        "carol": trader("carol", BTC="2", USDT="100000"),
    }


def place(user: Any, **fields: Any) -> Order:
    request = OrderRequest(symbol="BTC-USDT", **fields)
    order, created = services.place_order(user=user, request=request)
    assert created
    return order


def status(order: Order) -> str:
    order.refresh_from_db()
    return order.status


# --- the registry ---------------------------------------------------------------------------------


def test_the_registry_lists_its_types_in_their_order() -> None:
    assert order_types.choices() == [("limit", "Limit"), ("market", "Market")]
    assert order_types.names_text() == "limit or market"
    assert order_types.params() == {}


def test_an_unknown_type_is_a_field_error_that_names_the_types(traders: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        place(traders["alice"], side="buy", type="stop", price="100", quantity="1")
    assert refused.value.details == {"type": ["type is limit or market."]}
    assert not Order.objects.exists()


def test_a_param_of_another_type_is_refused(traders: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        place(traders["alice"], side="buy", type="limit", price="100", quantity="1", params={"trigger_price": "90"})
    assert refused.value.details == {"trigger_price": ["A limit order has no trigger_price."]}
    assert balance(traders["alice"], "USDT") == (D("100000"), D("0"))


def test_a_registered_type_is_listed_with_its_params(waiting_type: None) -> None:
    assert order_types.choices()[-1] == (NAME, "Limit when price reaches")
    assert list(order_types.params()) == ["trigger_price"]
    assert order_types.names_text() == f"limit, market or {NAME}"


# --- a type that waits off the book ---------------------------------------------------------------


def test_a_waiting_order_holds_its_funds_off_the_book(waiting_type: None, traders: dict[str, Any]) -> None:
    alice = traders["alice"]
    order = place(alice, side="buy", type=NAME, price="61000", quantity="0.5", params={"trigger_price": "60500"})
    assert Decimal(order.params["trigger_price"]) == D("60500")  # kept as the exact decimal string
    assert balance(alice, "USDT") == (D("69500"), D("30500"))
    drain(engine_for("BTC-USDT"))
    assert status(order) == "untriggered"
    market = Market.objects.get(symbol="BTC-USDT")
    assert selectors.order_book(market=market, depth=10).bids == []  # not in the depth
    assert balance(alice, "USDT") == (D("69500"), D("30500"))


def test_a_trade_at_the_trigger_sends_it_to_the_book_in_the_same_batch(
    waiting_type: None, traders: dict[str, Any]
) -> None:
    alice, bob, carol = traders["alice"], traders["bob"], traders["carol"]
    stop = place(alice, side="buy", type=NAME, price="61000", quantity="0.5", params={"trigger_price": "60500"})
    engine = engine_for("BTC-USDT")
    drain(engine)
    place(bob, side="sell", type="limit", price="60400", quantity="0.1")
    place(bob, side="sell", type="limit", price="60800", quantity="1")
    drain(engine)
    assert status(stop) == "untriggered"  # nothing traded yet

    # A trade at 60400 does not reach 60500; one at 60800 does, and the order then takes at 60800.
    place(carol, side="buy", type="market", quantity="0.1")
    drain(engine)
    assert status(stop) == "untriggered"
    place(carol, side="buy", type="limit", price="60800", quantity="0.1")
    assert drain(engine) == 1  # one command: the trigger and the stop's fill come with it
    stop.refresh_from_db()
    assert (stop.status, stop.filled_quantity) == ("filled", D("0.5"))
    assert stop.filled_quote == D("30400")
    # It held 0.5 x 61000 and spent 0.5 x 60800: the difference went back.
    assert balance(alice, "USDT") == (D("100000") - D("30400"), D("0"))


def test_an_untriggered_order_is_cancelled_and_its_hold_released(waiting_type: None, traders: dict[str, Any]) -> None:
    alice = traders["alice"]
    order = place(alice, side="sell", type=NAME, price="59000", quantity="0.5", params={"trigger_price": "59500"})
    engine = engine_for("BTC-USDT")
    drain(engine)
    services.cancel_order(user=alice, order_id=order.pk)
    drain(engine)
    order.refresh_from_db()
    assert (order.status, order.reason) == ("cancelled", "cancelled")
    assert balance(alice, "BTC") == (D("2"), D("0"))


def test_a_rebuilt_engine_keeps_it_waiting_and_still_triggers_it(waiting_type: None, traders: dict[str, Any]) -> None:
    alice, bob, carol = traders["alice"], traders["bob"], traders["carol"]
    stop = place(alice, side="sell", type=NAME, price="59000", quantity="0.5", params={"trigger_price": "59500"})
    drain(engine_for("BTC-USDT"))
    engine = engine_for("BTC-USDT")  # a new owner rebuilds from the database
    assert status(stop) == "untriggered"
    place(bob, side="buy", type="limit", price="59400", quantity="1")
    place(carol, side="sell", type="limit", price="59400", quantity="0.1")
    drain(engine)
    stop.refresh_from_db()
    assert (stop.status, stop.filled_quantity, stop.filled_quote) == ("filled", D("0.5"), D("29700"))


def test_one_release_can_trigger_the_next_in_sequence(waiting_type: None, traders: dict[str, Any]) -> None:
    alice, bob, carol = traders["alice"], traders["bob"], traders["carol"]
    # Two falling stops: the first one's fill at 59000 reaches the second's trigger.
    first = place(alice, side="sell", type=NAME, price="59000", quantity="0.2", params={"trigger_price": "59500"})
    second = place(alice, side="sell", type=NAME, price="58000", quantity="0.2", params={"trigger_price": "59000"})
    place(bob, side="buy", type="limit", price="59500", quantity="0.1")
    place(bob, side="buy", type="limit", price="59000", quantity="0.2")
    place(bob, side="buy", type="limit", price="58000", quantity="0.2")
    engine = engine_for("BTC-USDT")
    drain(engine)
    assert status(first) == status(second) == "untriggered"
    place(carol, side="sell", type="limit", price="59500", quantity="0.1")
    drain(engine)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.filled_quote) == ("filled", D("11800"))
    assert (second.status, second.filled_quote) == ("filled", D("11600"))


def test_an_order_whose_trigger_already_passed_goes_to_the_book_at_once(
    waiting_type: None, traders: dict[str, Any]
) -> None:
    alice, bob, carol = traders["alice"], traders["bob"], traders["carol"]
    place(bob, side="sell", type="limit", price="60000", quantity="0.1")
    place(carol, side="buy", type="limit", price="60000", quantity="0.1")
    engine = engine_for("BTC-USDT")
    drain(engine)
    order = place(alice, side="buy", type=NAME, price="59000", quantity="0.5", params={"trigger_price": "59500"})
    drain(engine)
    assert status(order) == "open"


class AlsoWaitsForPrice(LimitWhenPriceReaches):
    name = "also_waits_for_price"
    label = "Another type with the same part"


def test_types_with_the_same_engine_part_share_one_instance_of_it(waiting_type: None) -> None:
    # Given two types that name the same part class (as the stop and take-profit types share theirs)
    order_types.register(AlsoWaitsForPrice())
    try:
        parts = order_types.EngineParts(
            MarketSpec("X-Y", D("0.01"), D("0.0001"), 1, 2, D("1E-8"), D("1E-8"), D(0), D(0))
        )
        # Then the engine keeps their waiting orders in one part, which releases them in its own order
        assert parts.parts[NAME] is parts.parts["also_waits_for_price"]
        assert len(parts.instances) == 1
    finally:
        order_types.unregister("also_waits_for_price")
