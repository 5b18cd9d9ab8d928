"""Trading pages: a market's trade page and the markets overview.

Anyone may read a market; placing and cancelling go through trading.services like the API does.
Every page is complete without JavaScript; their scripts keep them live from /ws/stream (book,
trades, ticker, candles, and the user's orders, balances and notifications), falling back to
polling the REST API while the socket is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import authenticated_user
from exchange.core import money
from exchange.core.errors import DomainError, NotFound
from exchange.core.forms import add_domain_error
from exchange.core.throttling import page_rate_limit
from kyc import policy
from trading import marketdata, selectors, services
from trading.consumers import BOOK_DEPTH as STREAM_BOOK_DEPTH
from trading.display import REASONS, Formats, fill_row, order_row, trim
from trading.forms import OrderForm, new_request_id
from trading.models import Market, Order, OrderStatus
from trading.payloads import stats_payload, ticker_payload
from wallets import selectors as wallet_selectors

BOOK_DEPTH = 15
TRADES_SHOWN = 30
OPEN_ORDERS_SHOWN = 50
HISTORY_SHOWN = 20
FILLS_SHOWN = 20
POLL_MILLISECONDS = 2000


@dataclass(frozen=True)
class BookLevel:
    price: str
    quantity: str
    cumulative: str
    depth: int  # cumulative quantity as a percentage of the side's total shown, for the depth bar


@dataclass(frozen=True)
class BookView:
    asks: list[BookLevel]  # highest first, so that the best ask sits just above the spread
    bids: list[BookLevel]  # best (highest) first
    spread: str


@dataclass(frozen=True)
class TradeRow:
    price: str
    quantity: str
    taker_side: str
    time: datetime


def _levels(levels: list[tuple[Decimal, Decimal]], formats: Formats) -> list[BookLevel]:
    total = sum((quantity for _, quantity in levels), Decimal(0))
    rows = []
    running = Decimal(0)
    for price, quantity in levels:
        running += quantity
        depth = int(running * 100 / total) if total else 0
        rows.append(BookLevel(formats.price(price), formats.base(quantity), formats.base(running), depth))
    return rows


def book_view(market: Market, formats: Formats) -> BookView:
    book = selectors.order_book(market=market, depth=BOOK_DEPTH)
    spread = formats.price(book.asks[0][0] - book.bids[0][0]) if book.asks and book.bids else ""
    return BookView(asks=_levels(book.asks, formats)[::-1], bids=_levels(book.bids, formats), spread=spread)


def trade_rows(market: Market, formats: Formats) -> list[TradeRow]:
    return [
        TradeRow(formats.price(t.price), formats.base(t.quantity), t.taker_side, t.created_at)
        for t in selectors.recent_trades(market=market, limit=TRADES_SHOWN)
    ]


@dataclass(frozen=True)
class MarketTab:
    symbol: str
    label: str
    last_price: str
    price_places: int


def _market_tabs() -> list[MarketTab]:
    return [
        MarketTab(m.symbol, f"{m.base.code}/{m.quote.code}", Formats(m).price(m.last_price), Formats(m).price_places)
        for m in Market.objects.select_related("base", "quote").order_by("symbol")
    ]


@dataclass(frozen=True)
class TickerView:
    """A market's 24 hours as shown: prices to the tick, the change signed, volume to the lot."""

    last: str
    change: str
    up: bool
    down: bool
    high: str
    low: str
    volume: str
    quote_volume: str
    quote_volume_exact: str  # as the API writes it, for the page's script
    trades: int


def ticker_view(market: Market, formats: Formats) -> TickerView:
    ticker = ticker_payload(marketdata.ticker(market), market.quote.decimals, market.base.decimals)
    change = Decimal(ticker["change_percent"]) if ticker["change_percent"] is not None else None

    def price(value: str | None) -> str:
        return formats.price(Decimal(value)) if value is not None else ""

    return TickerView(
        last=price(ticker["last"]),
        change="" if change is None else f"{'+' if change > 0 else ''}{change:f}%",
        up=change is not None and change > 0,
        down=change is not None and change < 0,
        high=price(ticker["high"]),
        low=price(ticker["low"]),
        volume=formats.base(Decimal(ticker["volume"])),
        quote_volume=formats.quote(Decimal(ticker["quote_volume"])),
        quote_volume_exact=ticker["quote_volume"],
        trades=ticker["trades"],
    )


CHART_SCRIPT = "vendor/lightweight-charts/lightweight-charts.standalone.production.js"


@cache
def _chart_installed() -> bool:
    return bool(finders.find(CHART_SCRIPT))


def chart_script() -> str | None:
    """The chart library's URL, or None when npm did not install it (the page then says so)."""
    if not _chart_installed():
        return None
    try:
        return static(CHART_SCRIPT)
    except ValueError:  # a manifest without it: collectstatic ran before `npm ci`
        return None


def _render(
    request: HttpRequest,
    market: Market,
    user: User | None,
    form: OrderForm | None,
    *,
    status: int = 200,
    refusal: policy.KycRequired | None = None,
) -> HttpResponse:
    formats = Formats(market)
    trades = trade_rows(market, formats)
    context: dict[str, object] = {
        "ticker": ticker_view(market, formats),
        "intervals": list(marketdata.INTERVALS),
        "chart_script": chart_script(),
        "stream_book_depth": STREAM_BOOK_DEPTH,
        "market": market,
        "markets": _market_tabs(),
        "formats": formats,
        "last_price": formats.price(market.last_price),
        "last_side": trades[0].taker_side if trades else "",
        "book": book_view(market, formats),
        "trades": trades,
        "form": form,
        "trade_refusal": refusal.details if refusal else None,
        "labels": {"statuses": dict(OrderStatus.choices), "reasons": REASONS},
        "poll_ms": POLL_MILLISECONDS,
        "book_depth": BOOK_DEPTH,
        "trades_shown": TRADES_SHOWN,
        "fees": {
            "maker": trim(market.maker_fee_rate * 100, 4, 0),
            "taker": trim(market.taker_fee_rate * 100, 4, 0),
        },
        "rules": {
            "tick": trim(market.tick_size, market.quote.decimals, 0),
            "lot": trim(market.lot_size, market.base.decimals, 0),
            "min_quantity": trim(market.min_quantity, market.base.decimals, 0),
            "min_notional": trim(market.min_notional, market.quote.decimals, 0),
        },
    }
    if user is not None:
        balances = {b.asset: b for b in wallet_selectors.balances_of(user=user)}
        base, quote = balances.get(market.base.code), balances.get(market.quote.code)
        open_orders = selectors.orders_of(user=user, status="open", market=market)[:OPEN_ORDERS_SHOWN]
        closed = selectors.orders_of(user=user, status="closed", market=market)[:HISTORY_SHOWN]
        fills = selectors.fills_of(user=user, market=market)[:FILLS_SHOWN]
        context |= {
            "base_available": formats.base(base.available if base else Decimal(0)),
            "quote_available": formats.quote(quote.available if quote else Decimal(0)),
            "open_orders": [order_row(order, formats) for order in open_orders],
            "history": [order_row(order, formats) for order in closed],
            "fills": [fill_row(trade, user, formats) for trade in fills],
        }
    return render(request, "trading/trade.html", context, status=status)


def _signed_in(request: HttpRequest) -> User | None:
    return authenticated_user(request) if request.user.is_authenticated else None


def _placed_message(order: Order, formats: Formats) -> str:
    market = formats.market
    what = f"{order.side} {formats.base(order.quantity)} {market.base.code}"
    if order.price is None:
        if order.quantity is None:
            what = f"buy {market.base.code} for {formats.quote(order.quote_quantity)} {market.quote.code}"
        return f"Order #{order.pk} placed: market {what}."
    return f"Order #{order.pk} placed: {what} at {formats.price(order.price)} {market.quote.code}."


@require_GET
def trade_index_view(request: HttpRequest) -> HttpResponse:
    market = Market.objects.order_by("symbol").first()
    if market is None:
        raise Http404("No market is listed yet.")
    return redirect("trading:trade", symbol=market.symbol)


@require_http_methods(["GET", "POST"])
@page_rate_limit("order")
def trade_view(request: HttpRequest, symbol: str) -> HttpResponse:
    market = services.market_by_symbol(symbol)  # NotFound is an Http404: the 404 page
    if request.method == "GET" and symbol != market.symbol:
        return redirect("trading:trade", symbol=market.symbol)
    user = _signed_in(request)
    refusal = None if user is None else policy.refusal(user, policy.Activity.TRADE)
    if request.method == "GET":
        form = OrderForm(market=market) if user is not None and refusal is None else None
        return _render(request, market, user, form, refusal=refusal)

    if user is None:
        return redirect_to_login(request.get_full_path())
    if refusal is not None:
        messages.error(request, f"{refusal.message} No order was placed.")
        return _render(request, market, user, None, status=403, refusal=refusal)
    data = request.POST.copy()
    form = OrderForm(data, market=market)
    if form.is_valid():
        try:
            order, created = services.place_order(user=user, request=form.order_request())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if created:
                messages.success(request, _placed_message(order, Formats(market)))
            else:
                messages.info(request, f"Order #{order.pk} was placed already (the form was sent twice).")
            return redirect("trading:trade", symbol=market.symbol)
    # Nothing was placed: the corrected form is a new request.
    data["request_id"] = new_request_id()
    return _render(request, market, user, form)


@login_required
@require_POST
def order_cancel_view(request: HttpRequest, symbol: str, order_id: int) -> HttpResponse:
    try:
        order = services.cancel_order(user=authenticated_user(request), order_id=order_id)
    except NotFound:
        raise  # someone else's order, or none: the 404 page, as for any object that is not yours
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Cancelling order #{order.pk}…")
    return redirect("trading:trade", symbol=symbol)


@login_required
@require_POST
def cancel_all_view(request: HttpRequest, symbol: str) -> HttpResponse:
    market = services.market_by_symbol(symbol)
    try:
        count = services.cancel_all(user=authenticated_user(request), market=market)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if count:
            messages.success(request, f"Cancelling {count} order{'s' if count != 1 else ''}…")
        else:
            messages.info(request, "You have no open orders to cancel here.")
    return redirect("trading:trade", symbol=market.symbol)


# --- Markets ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketRow:
    market: Market
    formats: Formats
    ticker: TickerView

    @property
    def quote_usdt(self) -> str:
        """What the exchange statistics value one unit of the quote asset at (its reference price)."""
        return money.trimmed(self.market.quote.reference_price_usdt)


@require_GET
def markets_view(request: HttpRequest) -> HttpResponse:
    """Every market with its last 24 hours; static/trading/markets.js keeps the tickers live."""
    rows = [MarketRow(market, Formats(market), ticker_view(market, Formats(market))) for market in marketdata.markets()]
    stats = stats_payload(marketdata.stats())
    context = {"rows": rows, "stats": stats, "volume_24h_usdt": f"{Decimal(stats['volume_24h_usdt']):,f}"}
    return render(request, "trading/markets.html", context)
