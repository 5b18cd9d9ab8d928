"""What the engine tells the world after each committed batch: the one place events are published.

Groups on the channel layer (one publish per event per group, whatever the number of subscribers):
`book.SYMBOL` (level changes with the book's `seq`), `trades.SYMBOL`, and `user.ID` (that user's
order updates). Publishing never fails a batch: the batch is committed already, and a client that
misses a book delta sees the gap in `seq` and takes a new snapshot.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TradeEvent:
    id: int
    price: Decimal
    quantity: Decimal
    taker_side: str
    maker_user: int
    taker_user: int


@dataclass
class BatchEvents:
    symbol: str
    book_seq: int | None  # None: the batch left the book as it was
    bids: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (price, new total; 0 = level gone)
    asks: list[tuple[Decimal, Decimal]] = field(default_factory=list)
    trades: list[TradeEvent] = field(default_factory=list)
    orders: list[tuple[int, int, str]] = field(default_factory=list)  # (user id, order id, status)


def _levels(levels: list[tuple[Decimal, Decimal]]) -> list[list[str]]:
    return [[f"{price.normalize():f}", f"{quantity.normalize():f}"] for price, quantity in levels]


def messages(batch: BatchEvents) -> list[tuple[str, dict[str, Any]]]:
    """Return (group, message) pairs for a committed batch."""
    out: list[tuple[str, dict[str, Any]]] = []
    if batch.book_seq is not None:
        out.append(
            (
                f"book.{batch.symbol}",
                {"type": "book.delta", "symbol": batch.symbol, "seq": batch.book_seq}
                | {"bids": _levels(batch.bids), "asks": _levels(batch.asks)},
            )
        )
    if batch.trades:
        out.append(
            (
                f"trades.{batch.symbol}",
                {
                    "type": "trades",
                    "symbol": batch.symbol,
                    "trades": [
                        {
                            "id": t.id,
                            "price": f"{t.price.normalize():f}",
                            "quantity": f"{t.quantity.normalize():f}",
                            "taker_side": t.taker_side,
                        }
                        for t in batch.trades
                    ],
                },
            )
        )
    by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for user_id, order_id, status in batch.orders:
        by_user[user_id].append({"id": order_id, "status": status})
    for user_id, orders in sorted(by_user.items()):
        out.append((f"user.{user_id}", {"type": "orders", "symbol": batch.symbol, "orders": orders}))
    return out


def publish_batch(batch: BatchEvents) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group, message in messages(batch):
            await layer.group_send(group, message)

    try:
        async_to_sync(send_all)()
    except Exception:
        logger.warning("events: publishing %s's batch failed (clients will resync)", batch.symbol, exc_info=True)
