"""Market data reads: pairs, last prices, 24-hour tickers, exchange statistics and candles.

Candles are kept per minute by the engine (in its batch transaction); every longer interval is rolled
up from them here, in SQL: `date_bin` on plain PostgreSQL, TimescaleDB's `time_bucket` where that
extension is installed — the same buckets either way (weeks start on Monday, days at 00:00 UTC).
A bucket without trades is a flat candle at the previous close with no volume, so a chart has no
holes; buckets before the market's first trade are left out. The last candle is the open one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from functools import cache

from django.db import connection
from django.utils import timezone

from accounts.models import User
from exchange.core.money import MONEY
from exchange.core.streams import in_db_thread
from trading.models import Market, OrderStatus

INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MONDAY = datetime(1970, 1, 5, tzinfo=UTC)  # weeks are bucketed from a Monday
MAX_CANDLES = 1000


def origin(interval: str) -> datetime:
    return MONDAY if interval == "1w" else EPOCH


def bucket_of(moment: datetime, interval: str) -> datetime:
    step, base = INTERVALS[interval], origin(interval)
    return base + step * ((moment - base) // step)


@cache
def timescale_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        return cursor.fetchone() is not None


# Minute candles rolled up into buckets of one interval; BUCKET is date_bin or TimescaleDB's time_bucket.
ROLLUP_SQL = """
SELECT BUCKET(%(step)s::interval, start, %(origin)s) AS bucket,
       (array_agg(open ORDER BY start))[1], MAX(high), MIN(low), (array_agg(close ORDER BY start DESC))[1],
       SUM(volume), SUM(quote_volume), SUM(trades)
  FROM trading_candle
 WHERE market_id = %(market)s AND start >= %(first)s AND start < %(until)s
 GROUP BY bucket ORDER BY bucket
"""


@dataclass(frozen=True)
class CandleRow:
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int


def candles(
    *, market: Market, interval: str, start: datetime | None = None, end: datetime | None = None, limit: int = 500
) -> list[CandleRow]:
    """Candles of `interval`, ascending, at most `limit`, the latest one ending at `end` (default: now)."""
    step = INTERVALS[interval]
    last = bucket_of(min(end or timezone.now(), timezone.now()), interval)
    first = last - step * (limit - 1)
    if start is not None:
        first = max(first, bucket_of(start, interval))
    if first > last:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            ROLLUP_SQL.replace("BUCKET", "time_bucket" if timescale_installed() else "date_bin"),
            {
                "step": f"{int(step.total_seconds())} seconds",
                "origin": origin(interval),
                "market": market.pk,
                "first": first,
                "until": last + step,
            },
        )
        found = {row[0]: CandleRow(*row) for row in cursor.fetchall()}
        cursor.execute(
            "SELECT close FROM trading_candle WHERE market_id = %s AND start < %s ORDER BY start DESC LIMIT 1",
            [market.pk, first],
        )
        before = cursor.fetchone()
    previous: Decimal | None = before[0] if before else None
    rows: list[CandleRow] = []
    moment = first
    while moment <= last:
        row = found.get(moment)
        if row is None and previous is not None:
            row = CandleRow(moment, previous, previous, previous, previous, Decimal(0), Decimal(0), 0)
        if row is not None:
            rows.append(row)
            previous = row.close
        moment += step
    return rows


def best_prices(market: Market) -> tuple[Decimal | None, Decimal | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT MAX(price) FROM trading_order
                     WHERE market_id = %(m)s AND side = 'buy' AND status = ANY(%(s)s)),
                   (SELECT MIN(price) FROM trading_order
                     WHERE market_id = %(m)s AND side = 'sell' AND status = ANY(%(s)s))
            """,
            {"m": market.pk, "s": [OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED]},
        )
        bid, ask = cursor.fetchone()
    return bid, ask


@dataclass(frozen=True)
class Ticker:
    """A market's last 24 hours (by minute candles) and its best prices; a price is None until there is one.

    Without a trade in the period, open, high and low are the last price: the market did not move.
    """

    symbol: str
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    last: Decimal | None
    volume: Decimal
    quote_volume: Decimal
    trades: int
    change_percent: Decimal | None  # None without a price 24 hours ago
    best_bid: Decimal | None
    best_ask: Decimal | None


def ticker(market: Market) -> Ticker:
    """Read the market's ticker (trading.payloads.ticker_payload writes it)."""
    since = bucket_of(timezone.now() - timedelta(days=1), "1m") + INTERVALS["1m"]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (array_agg(open ORDER BY start))[1], MAX(high), MIN(low), SUM(volume), SUM(quote_volume), SUM(trades)
              FROM trading_candle WHERE market_id = %s AND start >= %s
            """,
            [market.pk, since],
        )
        open_, high, low, volume, quote_volume, trades = cursor.fetchone()
    last = market.last_price
    bid, ask = best_prices(market)
    change = None
    if open_ and last is not None:
        change = MONEY.multiply(MONEY.divide(MONEY.subtract(last, open_), open_), 100)
    return Ticker(
        symbol=market.symbol,
        open=open_ if open_ is not None else last,
        high=high if high is not None else last,
        low=low if low is not None else last,
        last=last,
        volume=volume or Decimal(0),
        quote_volume=quote_volume or Decimal(0),
        trades=int(trades or 0),
        change_percent=change,
        best_bid=bid,
        best_ask=ask,
    )


aticker = in_db_thread(ticker)


def markets() -> list[Market]:
    return list(Market.objects.select_related("base", "quote").order_by("symbol"))


@dataclass(frozen=True)
class ExchangeStats:
    """Exchange-wide figures of the last 24 hours."""

    volume_usdt: Decimal  # every market's quote volume at its quote asset's reference price
    trades: int
    users: int  # active traders (staff aside)
    quote_volumes: dict[str, Decimal]  # per market symbol, every market


def stats() -> ExchangeStats:
    """Read the exchange-wide figures of the last 24 hours (trading.payloads.stats_payload writes them)."""
    since = timezone.now() - timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT m.symbol, COALESCE(SUM(c.quote_volume), 0), COALESCE(SUM(c.trades), 0), q.reference_price_usdt
              FROM trading_market m JOIN wallets_asset q ON q.id = m.quote_id
              LEFT JOIN trading_candle c ON c.market_id = m.id AND c.start >= %s
             GROUP BY m.symbol, q.reference_price_usdt ORDER BY m.symbol
            """,
            [since],
        )
        rows = cursor.fetchall()
    with localcontext(MONEY):  # volumes of 18-decimal amounts at 18-decimal prices: past 28 digits
        volume_usdt = sum((volume * (reference or 0) for _, volume, _, reference in rows), Decimal(0))
    return ExchangeStats(
        volume_usdt=volume_usdt,
        trades=int(sum(trades for _, _, trades, _ in rows)),
        users=User.objects.filter(is_active=True, is_staff=False).count(),
        quote_volumes={symbol: volume for symbol, volume, _, _ in rows},
    )
