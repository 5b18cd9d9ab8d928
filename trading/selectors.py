"""Reads for trading: a user's orders and fills (always scoped to their owner), books and trades."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import User
from exchange.core.errors import NotFound, ValidationFailed
from trading.models import LIVE_STATUSES, Market, Order, Trade

MAX_DEPTH = 500


def orders_of(*, user: User, status: str | None = None, market: Market | None = None) -> QuerySet[Order]:
    """The user's orders, newest first; `status` is `open` (pending or on the book) or `closed`."""
    orders = Order.objects.filter(user=user).select_related("market__base", "market__quote").order_by("-id")
    if status == "open":
        orders = orders.filter(status__in=LIVE_STATUSES)
    elif status == "closed":
        orders = orders.exclude(status__in=LIVE_STATUSES)
    elif status:
        raise ValidationFailed("status is open or closed.", details={"status": ["open or closed"]})
    if market is not None:
        orders = orders.filter(market=market)
    return orders


def order_of(*, user: User, order_id: int) -> Order:
    """One of the user's orders; anyone else's is 'not found', never 'forbidden'."""
    order = orders_of(user=user).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def fills_of(*, user: User, market: Market | None = None) -> QuerySet[Trade]:
    """The user's trades, as maker or taker, newest first."""
    trades = (
        Trade.objects.filter(Q(maker_user=user) | Q(taker_user=user))
        .select_related("market__base", "market__quote", "maker_order", "taker_order")
        .order_by("-id")
    )
    return trades if market is None else trades.filter(market=market)


def recent_trades(*, market: Market, limit: int = 50) -> list[Trade]:
    """A market's latest trades, newest first (public)."""
    return list(Trade.objects.filter(market=market).order_by("-id")[:limit])


@dataclass(frozen=True)
class BookSnapshot:
    seq: int
    bids: list[tuple[Decimal, Decimal]]  # best first
    asks: list[tuple[Decimal, Decimal]]


def order_book(*, market: Market, depth: int = 50) -> BookSnapshot:
    """The aggregated book and the `seq` it reflects, read in one statement (one consistent snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH levels AS (
                SELECT side, price, SUM(quantity - filled_quantity) AS total,
                       ROW_NUMBER() OVER (PARTITION BY side
                                          ORDER BY CASE WHEN side = 'buy' THEN -price ELSE price END) AS n
                  FROM trading_order
                 WHERE market_id = %s AND status IN ('open', 'partially_filled')
                 GROUP BY side, price
            )
            SELECT m.book_seq, l.side, l.price, l.total
              FROM trading_market m LEFT JOIN levels l ON l.n <= %s
             WHERE m.id = %s
             ORDER BY l.side, l.n
            """,
            [market.pk, depth, market.pk],
        )
        rows = cursor.fetchall()
    seq = rows[0][0] if rows else market.book_seq
    bids = [(price, total) for _, side, price, total in rows if side == "buy"]
    asks = [(price, total) for _, side, price, total in rows if side == "sell"]
    return BookSnapshot(seq=seq, bids=bids, asks=asks)
