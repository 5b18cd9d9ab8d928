"""Trading's part of the ledger audit: what open orders hold (invariant 3) and orders/trades (invariant 5)."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from trading.models import LIVE_STATUSES

CHECK_LIMIT = 20


def order_claims() -> dict[tuple[int, int], Decimal]:
    """What live orders hold: (user id, asset id) -> amount (buys hold the quote asset, sells the base)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT o.user_id, CASE WHEN o.side = 'buy' THEN m.quote_id ELSE m.base_id END, SUM(o.hold_remaining)
              FROM trading_order o JOIN trading_market m ON m.id = o.market_id
             WHERE o.status = ANY(%s)
             GROUP BY 1, 2
            """,
            [list(LIVE_STATUSES)],
        )
        return {(user_id, asset_id): total for user_id, asset_id, total in cursor.fetchall() if total}


CHECKS = {
    "an order filled beyond its quantity": """
        SELECT id FROM trading_order WHERE quantity IS NOT NULL AND filled_quantity > quantity
    """,
    "a finished order still holding funds": """
        SELECT id FROM trading_order WHERE status <> ALL(%(live)s) AND hold_remaining <> 0
    """,
    "an order whose fills differ from its trades": """
        SELECT o.id FROM trading_order o
          LEFT JOIN (SELECT order_id, SUM(quantity) AS q, SUM(quote_quantity) AS n FROM (
                       SELECT maker_order_id AS order_id, quantity, quote_quantity FROM trading_trade
                       UNION ALL SELECT taker_order_id, quantity, quote_quantity FROM trading_trade) t
                     GROUP BY order_id) f ON f.order_id = o.id
         WHERE o.filled_quantity <> COALESCE(f.q, 0) OR o.filled_quote <> COALESCE(f.n, 0)
    """,
    "a trade whose maker and taker are not one buy and one sell of its market and its users": """
        SELECT t.id FROM trading_trade t
          JOIN trading_order mo ON mo.id = t.maker_order_id
          JOIN trading_order tk ON tk.id = t.taker_order_id
         WHERE mo.market_id <> t.market_id OR tk.market_id <> t.market_id
            OR tk.side <> t.taker_side OR mo.side = tk.side
            OR mo.user_id <> t.maker_user_id OR tk.user_id <> t.taker_user_id
    """,
}


def order_and_trade_problems() -> list[str]:
    problems = []
    with connection.cursor() as cursor:
        for what, sql in CHECKS.items():
            cursor.execute(f"{sql} ORDER BY 1 LIMIT {CHECK_LIMIT}", {"live": list(LIVE_STATUSES)})
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                problems.append(f"[5] {what}: #{', #'.join(map(str, ids))}")
    return problems
