"""The pages at the root of the site: the landing page for visitors, the dashboard for a signed-in user.

The dashboard gathers every app's part of an account (balances and transfers from wallets, orders and
fills from trading, notifications and two-factor status from accounts, the KYC level), so it lives
in the project, above the apps, rather than in any one of them.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.models import User
from accounts.selectors import authenticated_user
from accounts.services import has_two_factor
from exchange.core import money
from trading import marketdata
from trading import selectors as trading_selectors
from trading.display import REASONS, Formats, fill_row, order_row, trim
from trading.models import OrderStatus
from trading.portfolio import VALUATION_ASSET, Holding, portfolio_of
from wallets import selectors as wallet_selectors

DASHBOARD_ORDERS = 20
DASHBOARD_FILLS = 8
DASHBOARD_TRANSACTIONS = 6
DASHBOARD_NOTIFICATIONS = 6


def balance_places(holding: Holding) -> int:
    """Balances are shown with at least two decimals (more when they have them), at most the asset's."""
    return min(2, holding.decimals)


def _age(moment: datetime, now: datetime) -> str:
    return "just now" if (now - moment).total_seconds() < 60 else f"{timesince(moment, now)} ago"


def dashboard_view(request: HttpRequest) -> HttpResponse:
    """What a signed-in user lands on: holdings valued in USDT, open orders, fills, transfers, news.

    static/js/dashboard.js keeps it live from the `user` channel (balances, orders, notifications)
    and the tickers of the USDT markets (the prices the holdings are valued at).
    """
    user = authenticated_user(request)
    now = timezone.now()
    portfolio = portfolio_of(user=user)
    markets = marketdata.markets()
    formats = {market.pk: Formats(market) for market in markets}
    orders = trading_selectors.orders_of(user=user, status="open")[:DASHBOARD_ORDERS]
    fills = trading_selectors.fills_of(user=user)[:DASHBOARD_FILLS]
    holdings = [
        {
            "holding": h,
            "available": trim(h.available, h.decimals, balance_places(h)),
            "locked": trim(h.locked, h.decimals, balance_places(h)),
            "total": trim(h.total, h.decimals, balance_places(h)),
            "value": f"{h.value_usdt:,f}",
            "price": trim(h.price_usdt, 18, 2),
        }
        for h in portfolio.holdings
    ]
    context: dict[str, object] = {
        "holdings": holdings,
        "total_usdt": f"{portfolio.total_usdt:,f}",
        "open_orders": [order_row(order, formats[order.market_id]) for order in orders],
        "fills": [fill_row(trade, user, formats[trade.market_id]) for trade in fills],
        "transactions": [
            {
                "type": row["type"],
                "asset": row["asset_code"],
                "amount": money.trimmed(row["amount_"]),
                "status": row["status_"],
                "created_at": row["created_at"],
            }
            for row in wallet_selectors.transactions_of(user=user)[:DASHBOARD_TRANSACTIONS]
        ],
        "notifications": [
            {"note": note, "age": _age(note.created_at, now)}
            for note in user.notifications.all()[:DASHBOARD_NOTIFICATIONS]
        ],
        "two_factor": has_two_factor(user),
        "labels": {"statuses": dict(OrderStatus.choices), "reasons": REASONS},
        "dashboard": {
            "assets": {
                h.asset: {"decimals": h.decimals, "places": balance_places(h), "price": f"{h.price_usdt:f}"}
                for h in portfolio.holdings
            },
            "markets": {
                m.symbol: {
                    "base": m.base.code,
                    "quote": m.quote.code,
                    "price_places": formats[m.pk].price_places,
                    "quantity_places": formats[m.pk].quantity_places,
                }
                for m in markets
            },
            "valued_by": sorted(m.symbol for m in markets if m.quote.code == VALUATION_ASSET),
            "limits": {
                "orders": DASHBOARD_ORDERS,
                "fills": DASHBOARD_FILLS,
                "transactions": DASHBOARD_TRANSACTIONS,
                "notifications": DASHBOARD_NOTIFICATIONS,
            },
        },
    }
    return render(request, "dashboard.html", context)


def home_view(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; the dashboard for a signed-in user."""
    if isinstance(request.user, User):
        return dashboard_view(request)
    return render(request, "home.html")
