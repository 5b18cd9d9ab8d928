"""The matching-engine worker process: heartbeat, wake-ups, clean shutdown, standby take-over, and
crash safety under SIGKILL while traders keep placing and cancelling orders."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection

from exchange.core.errors import DomainError
from trading import selectors, services
from trading.models import LIVE_STATUSES, Market, Order, OrderStatus, Trade
from trading.tests.factories import engine_for, markets, trader
from trading.tests.processes import EngineProcess, wait_for
from trading.worker import ENGINE_HEARTBEAT_KEY
from wallets.audit import run_audit

pytestmark = pytest.mark.django_db(transaction=True)


def settled() -> bool:
    """Nothing pending: every order and every cancel request was carried out."""
    return (
        not Order.objects.filter(status=OrderStatus.PENDING).exists()
        and not Order.objects.filter(status__in=LIVE_STATUSES, cancel_seq__isnull=False).exists()
    )


def test_engine_runs_wakes_on_notify_and_stops_cleanly_on_sigterm() -> None:
    engine = EngineProcess("btc-usdt")
    try:
        assert wait_for(lambda: cache.get(ENGINE_HEARTBEAT_KEY) is not None), "no heartbeat"
        beat = cache.get(ENGINE_HEARTBEAT_KEY)
        assert beat["pid"] == engine.pid
        assert beat["markets"] == ["BTC-USDT"]

        time.sleep(0.5)  # let it reach LISTEN before notifying
        with connection.cursor() as cursor:
            cursor.execute("NOTIFY engine_wakeup")
        time.sleep(0.5)
        assert engine.stop() == 0, engine.output()
        output = engine.output()
    finally:
        engine.close()
    assert "SIGTERM received" in output
    assert "1 wake-ups" in output
    # A stopped engine takes its heartbeat with it, so /healthz stops calling it alive at once.
    assert cache.get(ENGINE_HEARTBEAT_KEY) is None


def test_a_standby_engine_takes_over_when_the_owner_dies() -> None:
    markets()
    alice = trader("alice", BTC="1")
    bob = trader("bob", USDT="100000")
    first = EngineProcess("BTC-USDT")
    second: EngineProcess | None = None
    try:
        assert wait_for(lambda: first.running("BTC-USDT")), first.output()
        second = EngineProcess("BTC-USDT")
        time.sleep(3)  # long enough for the second one to have tried, and failed, to take the market
        assert not second.running("BTC-USDT"), second.output()

        sell, _ = services.place_order(
            user=alice, request=services.OrderRequest("BTC-USDT", "sell", "limit", price="60000", quantity="0.5")
        )
        assert wait_for(lambda: Order.objects.get(pk=sell.pk).status == OrderStatus.OPEN)

        first.kill()  # SIGKILL: no goodbye, the lock goes with its connection
        assert wait_for(lambda: second.running("BTC-USDT"), timeout=15), second.output()
        buy, _ = services.place_order(
            user=bob, request=services.OrderRequest("BTC-USDT", "buy", "limit", price="60000", quantity="0.2")
        )
        assert wait_for(lambda: Order.objects.get(pk=buy.pk).status == OrderStatus.FILLED), second.output()
        assert Order.objects.get(pk=sell.pk).filled_quantity == Decimal("0.2")
        assert second.stop() == 0
    finally:
        first.close()
        if second is not None:
            second.close()
    assert Market.objects.get(symbol="BTC-USDT").engine_epoch == 2
    assert run_audit().ok


def _trade_randomly(
    users: list[Any], seed: int, stop: threading.Event, accepted: list[int], cancelled: list[int]
) -> None:
    """Place and cancel orders the way busy traders do, until told to stop; remember what was accepted."""
    rng = random.Random(seed)
    mine: list[tuple[Any, int]] = []
    try:
        while not stop.is_set():
            user = rng.choice(users)
            if mine and rng.random() < 0.25:
                owner, order_id = mine.pop(rng.randrange(len(mine)))
                try:
                    services.cancel_order(user=owner, order_id=order_id)
                    cancelled.append(order_id)
                except DomainError:
                    pass  # filled or finished already
                continue
            side = rng.choice(["buy", "sell"])
            price = f"{60000 + rng.randint(-20, 20) * 5}"
            kind = "market" if rng.random() < 0.1 else "limit"
            request = services.OrderRequest(
                "BTC-USDT",
                side,
                kind,
                price=price if kind == "limit" else None,
                quantity=f"{rng.randint(1, 30) / 1000:.3f}",
                time_in_force=rng.choice(["GTC", "GTC", "GTC", "IOC", "FOK"]) if kind == "limit" else "IOC",
            )
            try:
                order, _ = services.place_order(user=user, request=request)
            except DomainError:
                continue  # no liquidity for a market order, or not enough funds
            accepted.append(order.pk)
            mine.append((user, order.pk))
    finally:
        connection.close()


def test_sigkill_at_any_time_loses_no_order_and_applies_no_fill_twice() -> None:
    markets()
    users = [trader(f"t{i}", BTC="5", USDT="400000") for i in range(4)]
    accepted: list[int] = []
    cancelled: list[int] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_trade_randomly, args=(users, seed, stop, accepted, cancelled)) for seed in range(3)
    ]
    engine = EngineProcess("BTC-USDT")
    try:
        for thread in threads:
            thread.start()
        for _ in range(5):
            # Kill it while it works: once it owns the market, at a random instant.
            assert wait_for(partial(engine.running, "BTC-USDT")), engine.output()
            time.sleep(random.uniform(0.05, 0.8))
            engine.kill()
            engine.close()
            engine = EngineProcess("BTC-USDT")
        stop.set()
        for thread in threads:
            thread.join()
        assert wait_for(lambda: engine.running("BTC-USDT")), engine.output()
        assert wait_for(settled, timeout=60), engine.output()
        assert engine.stop() == 0, engine.output()
    finally:
        engine.close()

    assert len(accepted) > 200
    orders = {o.pk: o for o in Order.objects.all()}
    # Every accepted order is accounted for, and carried out: none pending, none lost.
    assert set(accepted) == set(orders)
    assert not [o for o in orders.values() if o.status == OrderStatus.PENDING]
    # Every accepted cancel was carried out (or the order had finished first).
    assert not [pk for pk in cancelled if orders[pk].status in LIVE_STATUSES]
    # No fill applied twice: a taker meets each maker once, and fills add up to the trades.
    pairs = Counter(Trade.objects.values_list("maker_order_id", "taker_order_id"))
    assert not [pair for pair, count in pairs.items() if count > 1]
    assert Trade.objects.exists()
    # The book rebuilt from the database is the database's open orders, level by level.
    engine_book = engine_for("BTC-USDT")
    market = Market.objects.get(symbol="BTC-USDT")
    snapshot = selectors.order_book(market=market, depth=500)
    bids, asks = engine_book.book.depth()
    assert [(p * market.tick_size, q * market.lot_size) for p, q in bids] == snapshot.bids
    assert [(p * market.tick_size, q * market.lot_size) for p, q in asks] == snapshot.asks
    # Locked funds equal open orders' holds; every ledger invariant holds.
    audit = run_audit()
    assert audit.ok, audit.problems
