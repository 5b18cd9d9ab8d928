"""Candles as the engine keeps them: one row per market and minute, and the open candle of every interval.

A batch's trades all carry the batch's time, so they fall in one minute: the engine adds them to that
minute's row with one upsert inside its batch transaction. For the streams it also keeps, in memory,
the open candle of each interval (loaded from the database when it starts), so that publishing a
candle update costs nothing but the message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from trading import marketdata
from trading.marketdata import INTERVALS, CandleRow, bucket_of
from trading.models import Market

UPSERT_SQL = """
INSERT INTO trading_candle AS c (market_id, start, open, high, low, close, volume, quote_volume, trades)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (market_id, start) DO UPDATE
   SET high = GREATEST(c.high, EXCLUDED.high), low = LEAST(c.low, EXCLUDED.low), close = EXCLUDED.close,
       volume = c.volume + EXCLUDED.volume, quote_volume = c.quote_volume + EXCLUDED.quote_volume,
       trades = c.trades + EXCLUDED.trades
"""


def of_trades(moment: datetime, trades: list[tuple[Decimal, Decimal, Decimal]]) -> CandleRow:
    """The minute candle of one batch's trades, given as (price, quantity, quote quantity) in order."""
    prices = [price for price, _, _ in trades]
    return CandleRow(
        start=bucket_of(moment, "1m"),
        open=prices[0],
        high=max(prices),
        low=min(prices),
        close=prices[-1],
        volume=sum((quantity for _, quantity, _ in trades), Decimal(0)),
        quote_volume=sum((quote for _, _, quote in trades), Decimal(0)),
        trades=len(trades),
    )


def write(cursor: Any, market_id: int, candle: CandleRow) -> None:
    prices = [candle.open, candle.high, candle.low, candle.close]
    cursor.execute(UPSERT_SQL, [market_id, candle.start, *prices, candle.volume, candle.quote_volume, candle.trades])


def merge(current: CandleRow, minute: CandleRow) -> CandleRow:
    return replace(
        current,
        high=max(current.high, minute.high),
        low=min(current.low, minute.low),
        close=minute.close,
        volume=current.volume + minute.volume,
        quote_volume=current.quote_volume + minute.quote_volume,
        trades=current.trades + minute.trades,
    )


@dataclass
class OpenCandles:
    """The open candle of each interval for one market."""

    current: dict[str, CandleRow]

    @classmethod
    def load(cls, market: Market) -> OpenCandles:
        current = {}
        for interval in INTERVALS:
            rows = marketdata.candles(market=market, interval=interval, limit=1)
            if rows and rows[-1].trades:
                current[interval] = rows[-1]
        return cls(current)

    def add(self, minute: CandleRow) -> dict[str, CandleRow]:
        """Fold one batch's minute candle into every interval; return the updated open candles."""
        for interval in INTERVALS:
            start = bucket_of(minute.start, interval)
            existing = self.current.get(interval)
            if existing is not None and existing.start == start:
                self.current[interval] = merge(existing, minute)
            else:
                self.current[interval] = replace(minute, start=start)
        return dict(self.current)
