"""/api/market: pairs, prices, tickers, stats, and candles rolled up from minutes, checked by hand
across bucket edges (the hour, the day, Monday), with quiet buckets and the open candle last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from trading.api import market_views
from trading.models import Candle, Market
from trading.tests.factories import markets

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def btc(db: Any) -> Market:
    return markets()["BTC-USDT"]


def minute(market: Market, start: datetime, o: str, h: str, lo: str, c: str, volume: str, trades: int = 1) -> None:  # noqa: PLR0917
    Candle.objects.create(
        market=market,
        start=start,
        open=D(o),
        high=D(h),
        low=D(lo),
        close=D(c),
        volume=D(volume),
        quote_volume=D(volume) * D(c),
        trades=trades,
    )


def get(path: str, expect: int = 200) -> Any:
    response = APIClient().get(path)
    assert response.status_code == expect, response.content
    return response.json()


def test_candles_roll_up_across_bucket_edges(btc: Market) -> None:
    # Sunday 2026-11-22 23:58 to Monday 2026-11-23 00:02 UTC: an hour, a day and a week begin at 00:00.
    sunday = datetime(2026, 11, 22, 23, 58, tzinfo=UTC)
    minute(btc, sunday, "100", "105", "99", "104", "1")
    minute(btc, sunday + timedelta(minutes=1), "104", "110", "103", "108", "2")
    # 00:00 is quiet.
    minute(btc, sunday + timedelta(minutes=3), "107", "107", "90", "95", "3")
    minute(btc, sunday + timedelta(minutes=4), "95", "96", "94", "96", "1")
    end = "2026-11-23T00:02:30Z"

    one = get(f"/api/market/candles/BTC-USDT?interval=1m&end={end}&limit=5")
    assert [(c["start"], c["open"], c["close"], c["volume"], c["trades"]) for c in one] == [
        ("2026-11-22T23:58:00Z", "100.000000", "104.000000", "1.00000000", 1),
        ("2026-11-22T23:59:00Z", "104.000000", "108.000000", "2.00000000", 1),
        ("2026-11-23T00:00:00Z", "108.000000", "108.000000", "0.00000000", 0),  # flat at the previous close
        ("2026-11-23T00:01:00Z", "107.000000", "95.000000", "3.00000000", 1),
        ("2026-11-23T00:02:00Z", "95.000000", "96.000000", "1.00000000", 1),
    ]
    for interval in ("1h", "1d", "1w"):
        rolled = get(f"/api/market/candles/BTC-USDT?interval={interval}&end={end}&limit=2")
        assert [(c["open"], c["high"], c["low"], c["close"], c["volume"], c["trades"]) for c in rolled] == [
            ("100.000000", "110.000000", "99.000000", "108.000000", "3.00000000", 2),
            ("107.000000", "107.000000", "90.000000", "96.000000", "4.00000000", 2),
        ], interval
    weeks = get(f"/api/market/candles/BTC-USDT?interval=1w&end={end}")
    assert [c["start"] for c in weeks] == ["2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z"]  # Mondays
    five = get(f"/api/market/candles/BTC-USDT?interval=5m&end={end}")
    assert [(c["start"], c["open"], c["close"], c["trades"]) for c in five] == [
        ("2026-11-22T23:55:00Z", "100.000000", "108.000000", 2),
        ("2026-11-23T00:00:00Z", "107.000000", "96.000000", 2),
    ]
    since = get("/api/market/candles/BTC-USDT?interval=1m&start=2026-11-23T00:01:00Z&end=" + end)
    assert [c["start"] for c in since] == ["2026-11-23T00:01:00Z", "2026-11-23T00:02:00Z"]


def test_the_open_candle_comes_last_and_before_the_first_trade_there_is_none(btc: Market) -> None:
    assert get("/api/market/candles/BTC-USDT") == []
    now = timezone.now()
    minute(btc, now.replace(second=0, microsecond=0) - timedelta(minutes=3), "50", "51", "49", "50.5", "1")
    rows = get("/api/market/candles/BTC-USDT?interval=1m&limit=10")
    assert len(rows) == 4  # the traded minute, two quiet ones, and the open one
    assert rows[-1]["start"] == now.replace(second=0, microsecond=0).isoformat().replace("+00:00", "Z")
    assert rows[-1]["close"] == "50.500000"


@pytest.mark.parametrize(
    "query",
    [
        "interval=2m",
        "limit=0",
        "limit=5000",
        "start=yesterday",
        "start=2026-01-01T00:00:00",
        "start=2026-02-01T00:00:00Z&end=2026-01-01T00:00:00Z",
    ],
)
def test_bad_candle_queries_are_refused(btc: Market, query: str) -> None:
    assert get(f"/api/market/candles/BTC-USDT?{query}", expect=400)["error"]["code"] == "validation_error"


def test_pairs_prices_ticker_and_stats(btc: Market) -> None:
    pairs = {p["symbol"]: p for p in get("/api/market/pairs")}
    assert set(pairs) == {"BTC-USDT", "ETH-USDT", "ETH-BTC"}
    assert (pairs["BTC-USDT"]["tick_size"], pairs["BTC-USDT"]["algorithm"]) == ("0.01", "fifo")
    assert pairs["ETH-BTC"]["algorithm"] == "pro_rata"
    assert {p["symbol"]: p["price"] for p in get("/api/market/prices")}["BTC-USDT"] is None

    now = timezone.now().replace(second=0, microsecond=0)
    minute(btc, now - timedelta(hours=25), "10", "10", "10", "10", "5")  # older than a day: not counted
    minute(btc, now - timedelta(hours=2), "100", "120", "95", "110", "2", trades=3)
    minute(btc, now - timedelta(minutes=1), "110", "130", "100", "125", "1", trades=2)
    Market.objects.filter(pk=btc.pk).update(last_price=D("125"))
    ticker = get("/api/market/ticker/btc-usdt")
    assert ticker == {
        "symbol": "BTC-USDT",
        "open": "100.000000",
        "high": "130.000000",
        "low": "95.000000",
        "last": "125.000000",
        "volume": "3.00000000",
        "quote_volume": "345.000000",
        "trades": 5,
        "change_percent": "25.00",
        "best_bid": None,
        "best_ask": None,
    }
    assert {p["symbol"]: p["price"] for p in get("/api/market/prices")}["BTC-USDT"] == "125.000000"
    stats = get("/api/market/stats")
    assert (stats["trades_24h"], stats["markets"], stats["volume_24h_usdt"]) == (5, 3, "345.00")
    assert get("/api/market/ticker/NOPE-USDT", expect=404)["error"]["code"] == "not_found"


def test_the_engine_keeps_minute_candles_and_the_last_price(btc: Market) -> None:
    from trading import services
    from trading.tests.factories import drain, engine_for, trader

    alice, bob = trader("alice", BTC="1"), trader("bob", USDT="100000")
    engine = engine_for("BTC-USDT")
    for price, quantity in (("60000", "0.1"), ("60500", "0.2"), ("59900", "0.3")):
        services.place_order(user=alice, request=services.OrderRequest("BTC-USDT", "sell", "limit", price, quantity))
    drain(engine)
    services.place_order(user=bob, request=services.OrderRequest("BTC-USDT", "buy", "market", quantity="0.35"))
    drain(engine)
    services.place_order(user=bob, request=services.OrderRequest("BTC-USDT", "buy", "market", quantity="0.1"))
    drain(engine)
    minutes = get("/api/market/candles/BTC-USDT?interval=1m&limit=3")
    assert sum(c["trades"] for c in minutes) == 4
    candle = get("/api/market/candles/BTC-USDT?interval=1d&limit=1")[-1]  # (a minute may have turned meanwhile)
    # Two batches: 0.3 @ 59900 and 0.05 @ 60000, then 0.05 @ 60000 and 0.05 @ 60500.
    assert (candle["open"], candle["high"], candle["low"], candle["close"]) == (
        "59900.000000",
        "60500.000000",
        "59900.000000",
        "60500.000000",
    )
    assert (candle["volume"], candle["trades"]) == ("0.45000000", 4)
    assert get("/api/market/ticker/BTC-USDT")["last"] == "60500.000000"
    assert engine.feed.open_candles is not None
    assert engine.feed.open_candles.current["1d"].trades == 4


def test_a_web_worker_answers_the_ticker_from_the_one_it_computed_within_ticker_cache_ms(
    btc: Market, settings: Any
) -> None:
    market_views._TICKERS.clear()  # what earlier tests in this process left
    settings.TICKER_CACHE_MS = 60_000
    Market.objects.filter(pk=btc.pk).update(last_price=D("125"))
    assert get("/api/market/ticker/BTC-USDT")["last"] == "125.000000"
    Market.objects.filter(pk=btc.pk).update(last_price=D("130"))
    assert get("/api/market/ticker/btc-usdt")["last"] == "125.000000"  # the same market, spelt otherwise
    assert get("/api/market/ticker/NOPE-USDT", expect=404)["error"]["code"] == "not_found"  # never cached
    settings.TICKER_CACHE_MS = 0
    assert get("/api/market/ticker/BTC-USDT")["last"] == "130.000000"
