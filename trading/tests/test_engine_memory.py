"""The engine process freezes what survives a full garbage collection (trading.matching,
keep_survivors_out_of_full_collections), so its long-lived book is not walked by every full pass.
That is only safe while an ended order is freed by reference counting alone: nothing of the engine
may keep it, in a cycle or otherwise, once it is done."""

from __future__ import annotations

import gc
import sys
from typing import Any

import pytest

from trading import services
from trading.matching import _freeze_survivors, keep_survivors_out_of_full_collections
from trading.tests.factories import drain, engine_for, markets, trader

pytestmark = pytest.mark.django_db


def test_an_ended_order_is_held_by_nothing_of_the_engine(db: Any) -> None:
    markets()
    alice, bob = trader("alice", BTC="1"), trader("bob", USDT="100000")
    engine = engine_for("BTC-USDT")
    resting, _ = services.place_order(
        user=alice, request=services.OrderRequest("BTC-USDT", "sell", "limit", price="60000", quantity="0.5")
    )
    cancelled, _ = services.place_order(
        user=alice, request=services.OrderRequest("BTC-USDT", "sell", "limit", price="61000", quantity="0.2")
    )
    drain(engine)
    filled_live, cancelled_live = engine.settlement.live[resting.pk], engine.settlement.live[cancelled.pk]

    # When one order is filled and the other cancelled
    services.place_order(
        user=bob, request=services.OrderRequest("BTC-USDT", "buy", "limit", price="60000", quantity="0.5")
    )
    services.cancel_order(user=alice, order_id=cancelled.pk)
    drain(engine)

    # Then only this test still refers to what the engine tracked of them (getrefcount counts its argument)
    assert resting.pk not in engine.settlement.live
    assert cancelled.pk not in engine.settlement.live
    assert sys.getrefcount(filled_live) == 2
    assert sys.getrefcount(cancelled_live) == 2


def test_the_policy_is_installed_once_and_freezes_after_full_collections_only() -> None:
    keep_survivors_out_of_full_collections()
    keep_survivors_out_of_full_collections()
    try:
        assert gc.callbacks.count(_freeze_survivors) == 1
        gc.unfreeze()
        gc.collect(0)
        assert gc.get_freeze_count() == 0  # a young collection freezes nothing
        gc.collect()
        assert gc.get_freeze_count() > 0
    finally:
        gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()
