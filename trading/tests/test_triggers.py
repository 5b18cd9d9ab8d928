"""The stop and take-profit engine part (trading.engine.triggers) against a reference model: an order
is released exactly when the last trade price reaches its trigger, once, in price-time order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.engine import Order, Side
from trading.engine.triggers import FALLING, RISING, PriceTriggers, reached


def order(order_id: int) -> Order:
    return Order(order_id, 1, Side.BUY, 1, 100)


def test_a_rising_stop_waits_below_its_trigger_and_goes_when_the_price_reaches_it() -> None:
    part = PriceTriggers()
    assert part.take(order(1), {"direction": RISING, "trigger": 105}, last_price=100)
    assert part.released(104) == []
    assert [o.id for o in part.released(105)] == [1]
    assert part.released(110) == []  # once


def test_an_order_whose_trigger_is_reached_already_is_not_kept() -> None:
    part = PriceTriggers()
    assert not part.take(order(1), {"direction": FALLING, "trigger": 100}, last_price=99)
    assert len(part) == 0


def test_one_trade_releases_in_price_then_time_order() -> None:
    part = PriceTriggers()
    for order_id, trigger in ((1, 107), (2, 103), (3, 105), (4, 103)):
        part.take(order(order_id), {"direction": RISING, "trigger": trigger}, last_price=100)
    for order_id, trigger in ((5, 95), (6, 97)):
        part.take(order(order_id), {"direction": FALLING, "trigger": trigger}, last_price=100)
    assert [o.id for o in part.released(106)] == [2, 4, 3]  # 103 (first in sequence, then the next), 105
    assert [o.id for o in part.released(94)] == [6, 5]  # falling: the highest trigger first
    assert [o.id for o in part.released(200)] == [1]


def test_a_cancelled_order_is_never_released() -> None:
    part = PriceTriggers()
    part.take(order(1), {"direction": RISING, "trigger": 105}, last_price=100)
    assert part.cancel(1)
    assert not part.cancel(1)
    assert part.released(200) == []


def test_a_trailing_sell_stop_follows_the_high_and_goes_on_the_pullback() -> None:
    part = PriceTriggers()
    params = {"direction": FALLING, "trailing_bp": 100, "activation": 10_000}  # 1 %, active from 10,000
    assert part.take(order(1), params, last_price=9_900)
    assert part.released(9_000) == []  # not active: a fall before activation does nothing
    assert part.released(10_000) == []  # active now, best 10,000: released at 9,900
    assert part.released(10_500) == []  # best 10,500: released at 10,395
    assert part.released(10_400) == []
    assert part.best_prices() == {1: 10_500}
    assert [o.id for o in part.released(10_395)] == [1]


def test_a_restored_trailing_stop_keeps_its_best_price() -> None:
    part = PriceTriggers()
    part.restore(order(1), {"direction": RISING, "trailing_bp": 200, "best": 5_000})  # a buy: 2 % above the low
    assert part.released(5_099) == []
    assert [o.id for o in part.released(5_100)] == [1]


prices = st.integers(min_value=90, max_value=110)
commands = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.sampled_from([RISING, FALLING]), prices),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=30), st.just(0)),
        st.tuples(st.just("trade"), prices, st.just(0)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(commands)
def test_released_exactly_when_reached_once_in_price_time_order(script: list[tuple[str, int, int]]) -> None:
    part = PriceTriggers()
    model: dict[int, tuple[int, int]] = {}  # id -> (direction, trigger): the reference, a plain scan
    last = 100
    next_id = 0
    for command, a, b in script:
        if command == "wait":
            next_id += 1
            kept = part.take(order(next_id), {"direction": a, "trigger": b}, last)
            assert kept == (not reached(a, b, last))
            if kept:
                model[next_id] = (a, b)
        elif command == "cancel":
            assert part.cancel(a) == (model.pop(a, None) is not None)
        else:
            last = a
            due = [(d * t, i) for i, (d, t) in model.items() if reached(d, t, last)]
            expected = [i for _key, i in sorted(due)]
            for i in expected:
                del model[i]
            assert [o.id for o in part.released(last)] == expected
    assert len(part) == len(model)
