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
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import User
from exchange.core.money import MONEY, plain, trimmed
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


def candle_fields(row: CandleRow, price_places: int, quantity_places: int) -> dict[str, Any]:
    return {
        "start": row.start.isoformat().replace("+00:00", "Z"),
        "open": plain(row.open, price_places),
        "high": plain(row.high, price_places),
        "low": plain(row.low, price_places),
        "close": plain(row.close, price_places),
        "volume": plain(row.volume, quantity_places),
        "quote_volume": plain(row.quote_volume, price_places),
        "trades": row.trades,
    }


def candle_payload(row: CandleRow, market: Market) -> dict[str, Any]:
    return candle_fields(row, market.quote.decimals, market.base.decimals)


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


def ticker(market: Market) -> dict[str, Any]:
    """The last 24 hours (by minute candles): open, high, low, last, volumes, change; best bid and ask."""
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
    base, quote = market.base.decimals, market.quote.decimals
    change = None
    if open_ and last is not None:
        change = plain(MONEY.multiply(MONEY.divide(MONEY.subtract(last, open_), open_), 100), 2)

    def price(value: Decimal | None) -> str | None:
        return None if value is None else plain(value, quote)

    return {
        "symbol": market.symbol,
        "open": price(open_ if open_ is not None else last),
        "high": price(high if high is not None else last),
        "low": price(low if low is not None else last),
        "last": price(last),
        "volume": plain(volume or Decimal(0), base),
        "quote_volume": plain(quote_volume or Decimal(0), quote),
        "trades": int(trades or 0),
        "change_percent": change if change is not None else ("0.00" if last is not None else None),
        "best_bid": price(bid),
        "best_ask": price(ask),
    }


aticker = in_db_thread(ticker)


def pair_payload(market: Market) -> dict[str, Any]:
    return {
        "symbol": market.symbol,
        "base": market.base.code,
        "quote": market.quote.code,
        "status": market.status,
        "tick_size": trimmed(market.tick_size),
        "lot_size": trimmed(market.lot_size),
        "min_quantity": trimmed(market.min_quantity),
        "min_notional": trimmed(market.min_notional),
        "maker_fee_rate": trimmed(market.maker_fee_rate),
        "taker_fee_rate": trimmed(market.taker_fee_rate),
        "algorithm": market.algorithm,
        "base_decimals": market.base.decimals,
        "quote_decimals": market.quote.decimals,
    }


def markets() -> list[Market]:
    return list(Market.objects.select_related("base", "quote").order_by("symbol"))


def stats() -> dict[str, Any]:
    """Exchange-wide figures of the last 24 hours; volume also valued in USDT at each asset's reference price."""
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
    return {
        "volume_24h_usdt": plain(volume_usdt, 2),
        "trades_24h": int(sum(trades for _, _, trades, _ in rows)),
        "markets": len(rows),
        "users": User.objects.filter(is_active=True, is_staff=False).count(),
        "quote_volume_24h": {symbol: trimmed(volume) for symbol, volume, _, _ in rows},
    }
