"""The matching core, free of Django: see book.py."""

from __future__ import annotations

from trading.engine.book import (
    Algorithm,
    Done,
    DoneReason,
    Event,
    Order,
    OrderBook,
    Rested,
    SelfTrade,
    Side,
    TimeInForce,
    Trade,
)

__all__ = [
    "Algorithm",
    "Done",
    "DoneReason",
    "Event",
    "Order",
    "OrderBook",
    "Rested",
    "SelfTrade",
    "Side",
    "TimeInForce",
    "Trade",
]
