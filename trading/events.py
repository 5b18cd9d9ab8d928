"""What the engine tells the world after each committed batch: the one place its events are made.

Groups on the channel layer (one publish per group, whatever the number of subscribers):
`market.SYMBOL`, one message per batch with what it changed of the market's public streams, and
`user.ID` (which of that user's orders changed; the stream sends their current state). The market
message carries, in order, the client message of each stream channel it touches (`book:SYMBOL`,
the level changes with the book's `seq`; `trades:SYMBOL`; `candles:SYMBOL:INTERVAL`;
`ticker:SYMBOL`), each serialized once here, so a web process hands the same text to every
subscriber: one message per batch, and each subscriber's messages of a batch leave in one write.
The levels, trades, candles and tickers in them are written by trading.payloads, as REST writes
them. `ts` is the commit time (milliseconds since the epoch). Publishing never fails a batch: the batch
is committed already, and a consumer that misses a book delta sees the gap in `seq` and sends its
subscriber a new snapshot.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from exchange.core import streams
from exchange.core.streams import user_group
from trading import payloads
from trading.marketdata import CandleRow, Ticker


@dataclass(frozen=True)
class TradeEvent:
    id: int
    price: Decimal
    quantity: Decimal
    taker_side: str


@dataclass
class BatchEvents:
    symbol: str
    book_seq: int | None  # None: the batch left the book as it was
    price_places: int  # the quote asset's decimals
    quantity_places: int  # the base asset's
    bids: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (price, new total; 0 = level gone)
    asks: list[tuple[Decimal, Decimal]] = field(default_factory=list)
    trades: list[TradeEvent] = field(default_factory=list)
    orders: list[tuple[int, int, str]] = field(default_factory=list)  # (user id, order id, status)
    candles: dict[str, CandleRow] = field(default_factory=dict)  # interval -> its open candle, if traded
    ticker: Ticker | None = None  # the market's ticker, when it is time to send one
    committed_at: float = field(default_factory=time.time)


def market_group(symbol: str) -> str:
    return f"market.{symbol}"


def _text(channel: str, body: dict[str, Any]) -> tuple[str, str]:
    """(channel, the client's message as text): the type first, then the channel, then the rest."""
    return channel, json.dumps(
        {"type": body["type"], "channel": channel, **{k: v for k, v in body.items() if k != "type"}}
    )


def messages(batch: BatchEvents) -> list[tuple[str, dict[str, Any]]]:
    """Return (group, message) pairs for a committed batch."""
    symbol, ts = batch.symbol, round(batch.committed_at * 1000, 3)
    places = batch.price_places, batch.quantity_places
    parts: list[tuple[str, str]] = []
    if batch.book_seq is not None:
        body = {"type": "book.delta", "symbol": symbol, "seq": batch.book_seq, "ts": ts}
        body |= {"bids": payloads.book_levels(batch.bids, *places), "asks": payloads.book_levels(batch.asks, *places)}
        parts.append(_text(f"book:{symbol}", body))
    if batch.trades:
        trades = [payloads.public_trade_payload(trade, ts, *places) for trade in batch.trades]
        parts.append(_text(f"trades:{symbol}", {"type": "trades", "symbol": symbol, "trades": trades, "ts": ts}))
    for interval, candle in sorted(batch.candles.items()):
        body = {"type": "candle", "symbol": symbol, "interval": interval, "ts": ts}
        body |= payloads.candle_payload(candle, *places)
        parts.append(_text(f"candles:{symbol}:{interval}", body))
    if batch.ticker is not None:
        parts.append(
            _text(f"ticker:{symbol}", {"type": "ticker", **payloads.ticker_payload(batch.ticker, *places), "ts": ts})
        )
    out: list[tuple[str, dict[str, Any]]] = []
    if parts:
        market = {"type": "market.data", "symbol": symbol, "seq": batch.book_seq, "parts": [list(p) for p in parts]}
        out.append((market_group(symbol), market))
    by_user: dict[int, list[int]] = defaultdict(list)
    for user_id, order_id, _status in batch.orders:
        by_user[user_id].append(order_id)
    for user_id, order_ids in sorted(by_user.items()):
        out.append((user_group(user_id), {"type": "user.orders", "order_ids": sorted(order_ids)}))
    return out


def publish_batch(batch: BatchEvents) -> None:
    """Publish the batch's events from the background publisher, after every batch before it.

    The engine goes on with its next batch meanwhile: serializing and sending leave its commit path.
    """
    streams.publish_later(lambda: messages(batch))
