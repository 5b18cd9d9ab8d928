"""Trading pages: the trade page (what visitors, unverified users and traders see; placing and cancelling
through forms), the markets page, and the valuation in USDT the dashboard shows.

The engine runs in this process (`drain`); the ledger audit runs after every test.
"""

from __future__ import annotations

import html as htmllib
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from trading import services
from trading.models import Market, MarketStatus, Order, OrderStatus
from trading.portfolio import Holding, Portfolio
from trading.tests.factories import balance, drain, engine_for, markets, trader
from trading.tests.pages import panel, panel_text, row_text, text_of
from wallets.tests.conftest import _audit_after_each_test  # noqa: F401  (every test ends with the audit)

pytestmark = pytest.mark.django_db

D = Decimal
URL = "/trade/BTC-USDT"


@pytest.fixture
def setup(db: Any) -> dict[str, Any]:
    markets()
    return {
        "alice": trader("alice", BTC="2", USDT="100000"),
        "bob": trader("bob", BTC="2", USDT="100000"),
    }


def place(user: Any, **fields: Any) -> Order:
    order, _ = services.place_order(user=user, request=services.OrderRequest(symbol="BTC-USDT", **fields))
    return order


def limit_form(**fields: str) -> dict[str, str]:
    return {"side": "buy", "type": "limit", "time_in_force": "GTC", "request_id": "", **fields}


def test_visitors_see_the_book_and_the_trades_and_a_prompt_to_log_in(client: Any, setup: dict[str, Any]) -> None:
    alice, bob = setup["alice"], setup["bob"]
    place(alice, side="sell", type="limit", price="60000", quantity="0.5")
    place(alice, side="sell", type="limit", price="60100.5", quantity="0.25")
    place(bob, side="buy", type="limit", price="59000", quantity="0.1")
    place(bob, side="buy", type="limit", price="60000", quantity="0.2")
    drain(engine_for("BTC-USDT"))

    response = client.get(URL)

    assert response.status_code == 200
    book = panel(response, "order-book")
    # Asks highest first (the best ask next to the spread), then bids best first; amounts to the tick and lot.
    asks, spread, bids = "60100.50 0.2500 0.5500 60000.00 0.3000 0.3000", "60000.00 spread 1000.00", "59000.00 0.1000"
    assert f"{asks} {spread} {bids}" in book
    assert "60000.00 0.2000" in panel(response, "recent-trades")
    assert "Log in to trade" in text_of(response)
    assert 'href="/login?next=/trade/BTC-USDT"' in response.content.decode()
    assert 'data-testid="order-form"' not in response.content.decode()
    assert 'data-testid="open-orders"' not in response.content.decode()
    # The market switcher lists every market.
    for symbol in ("BTC-USDT", "ETH-BTC", "ETH-USDT"):
        assert f'href="/trade/{symbol}"' in response.content.decode()


def test_a_trader_sees_the_form_with_balances_and_the_market_rules(client: Any, setup: dict[str, Any]) -> None:
    client.force_login(setup["alice"])

    response = client.get(URL)

    assert response.status_code == 200
    page = text_of(response)
    assert 'data-testid="order-form"' in response.content.decode()
    assert "100000.00 USDT" in panel(response, "available")
    assert "2.0000 BTC" in panel(response, "available")
    assert "a multiple of 0.01 USDT" in page
    assert "A multiple of 0.0001 BTC; at least 0.0001 BTC" in page
    assert "maker 0.1% · taker 0.2%" in page
    assert "No open orders in BTC/USDT." in panel(response, "open-orders")


def test_placing_a_limit_order_holds_the_funds_and_lists_it_as_open(client: Any, setup: dict[str, Any]) -> None:
    alice = setup["alice"]
    client.force_login(alice)

    response = client.post(URL, limit_form(price="50000", quantity="0.5", request_id="web-1"))

    assert response.status_code == 302
    assert response["Location"] == URL
    order = Order.objects.get(user=alice)
    assert (order.side, order.price, order.quantity, order.status) == ("buy", D("50000"), D("0.5"), "pending")
    assert order.client_order_id == "web-1"
    assert balance(alice, "USDT") == (D("75000"), D("25000"))
    page = client.get(URL)
    assert f"Order #{order.pk} placed: buy 0.5000 BTC at 50000.00 USDT." in text_of(page)
    assert re.search(r"Buy Limit 50000\.00 0\.5000 0\.0000 Pending Cancel order #\d+", panel(page, "open-orders"))

    drain(engine_for("BTC-USDT"))
    page = client.get(URL)
    assert "Open" in panel(page, "open-orders")
    assert "50000.00 0.5000" in panel(page, "order-book")
    assert "75000.00 USDT" in panel(page, "available")


def test_sending_the_same_form_twice_places_one_order(client: Any, setup: dict[str, Any]) -> None:
    client.force_login(setup["alice"])
    form = limit_form(price="50000", quantity="0.1", request_id="web-twice")

    client.post(URL, form)
    response = client.post(URL, form, follow=True)

    assert Order.objects.filter(user=setup["alice"]).count() == 1
    assert "was placed already" in text_of(response)
    assert balance(setup["alice"], "USDT") == (D("95000"), D("5000"))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"price": "50000.001", "quantity": "0.5"}, "price", "must be a multiple of the market's tick size (0.01)."),
        ({"price": "abc", "quantity": "0.5"}, "price", "Not a number."),
        ({"price": "", "quantity": "0.5"}, "price", "A limit order needs a price."),
        ({"price": "50000", "quantity": "0.00005"}, "quantity", "multiple of the market's lot size (0.0001)"),
        ({"price": "1", "quantity": "1"}, "quantity", "below the minimum of 5 USDT"),
        ({"price": "50000", "quantity": "10"}, None, "Not enough USDT: 100000 available, 500000 needed."),
    ],
)
def test_a_refused_order_shows_the_error_and_changes_nothing(
    client: Any, setup: dict[str, Any], fields: dict[str, str], field: str | None, message: str
) -> None:
    alice = setup["alice"]
    client.force_login(alice)

    response = client.post(URL, limit_form(**fields, request_id="web-bad"))

    assert response.status_code == 200
    html = htmllib.unescape(response.content.decode())
    if field is None:
        errors = html[html.index('class="form-errors"') :][:400]
    else:
        errors = html[html.index(f'id="id_{field}_error"') :][:400]
        assert "form-field has-error" in html
    assert message.lower() in errors.lower(), errors
    assert f'value="{fields["quantity"]}"' in html  # what was typed is kept
    assert 'value="web-bad"' not in html  # a corrected form is a new request
    assert not Order.objects.exists()
    assert balance(alice, "USDT") == (D("100000"), D("0"))


def test_a_market_buy_sized_in_quote_trades_and_shows_in_fills(client: Any, setup: dict[str, Any]) -> None:
    alice, bob = setup["alice"], setup["bob"]
    place(alice, side="sell", type="limit", price="60000", quantity="0.5")
    engine = engine_for("BTC-USDT")
    drain(engine)
    client.force_login(bob)

    response = client.post(
        URL, {"side": "buy", "type": "market", "price": "123", "quote_quantity": "6000", "time_in_force": "GTC"}
    )

    assert response.status_code == 302
    order = Order.objects.get(user=bob)
    assert (order.type, order.price, order.quantity, order.quote_quantity) == ("market", None, None, D("6000"))
    drain(engine)
    page = client.get(URL)
    assert f"Order #{order.pk} placed: market buy BTC for 6000.00 USDT." in text_of(page)
    assert "Buy Taker 60000.00 0.1000 0.0002 BTC" in panel(page, "fills")
    assert re.search(r"Buy Market Market 6000\.00 USDT 0\.1000 60000\.00 Filled", panel(page, "order-history"))
    assert "60000.00 0.1000" in panel(page, "recent-trades")
    assert "60000.00" in panel(page, "order-book")  # what is left of alice's sell


def test_cancel_from_the_page_after_the_engine_drains(client: Any, setup: dict[str, Any]) -> None:
    alice = setup["alice"]
    order = place(alice, side="sell", type="limit", price="70000", quantity="1")
    engine = engine_for("BTC-USDT")
    drain(engine)
    client.force_login(alice)

    response = client.post(f"{URL}/orders/{order.pk}/cancel")

    assert response.status_code == 302
    assert response["Location"] == URL
    page = client.get(URL)
    assert f"Cancelling order #{order.pk}" in text_of(page)
    assert "cancelling…" in panel(page, "open-orders")
    assert f"Cancel order #{order.pk}" not in panel(page, "open-orders")
    assert balance(alice, "BTC") == (D("1"), D("1"))  # the engine has not carried it out yet

    drain(engine)

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert balance(alice, "BTC") == (D("2"), D("0"))
    page = client.get(URL)
    assert "No open orders" in panel(page, "open-orders")
    assert "Cancelled Cancelled by you" in panel(page, "order-history")
    assert "No one is selling" in panel(page, "order-book")


def test_cancelling_someone_elses_order_is_the_404_page(client: Any, setup: dict[str, Any]) -> None:
    order = place(setup["alice"], side="sell", type="limit", price="70000", quantity="1")
    client.force_login(setup["bob"])

    response = client.post(f"{URL}/orders/{order.pk}/cancel")

    assert response.status_code == 404  # as for any object that is not yours: nothing says it exists
    assert "Page not found" in text_of(response)
    order.refresh_from_db()
    assert order.cancel_seq is None


def test_cancel_all(client: Any, setup: dict[str, Any]) -> None:
    alice = setup["alice"]
    for price in ("70000", "71000"):
        place(alice, side="sell", type="limit", price=price, quantity="0.5")
    client.force_login(alice)

    response = client.post(f"{URL}/orders/cancel-all", follow=True)

    assert "Cancelling 2 orders" in text_of(response)
    drain(engine_for("BTC-USDT"))
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}
    assert balance(alice, "BTC") == (D("2"), D("0"))


def test_cancel_needs_login_and_post(client: Any, setup: dict[str, Any]) -> None:
    order = place(setup["alice"], side="sell", type="limit", price="70000", quantity="1")
    assert client.post(f"{URL}/orders/{order.pk}/cancel")["Location"].startswith("/login?next=")
    client.force_login(setup["alice"])
    assert client.get(f"{URL}/orders/{order.pk}/cancel").status_code == 405


def test_an_unknown_market_is_a_404_page(client: Any, setup: dict[str, Any]) -> None:
    response = client.get("/trade/DOGE-USDT")
    assert response.status_code == 404
    assert "Page not found" in text_of(response)
    assert client.post("/trade/DOGE-USDT", limit_form(price="1", quantity="1")).status_code == 404


def test_trade_goes_to_the_first_market_and_symbols_are_canonical(client: Any, setup: dict[str, Any]) -> None:
    assert client.get("/trade")["Location"] == URL
    assert client.get("/trade/btc-usdt")["Location"] == URL


def test_an_unverified_user_sees_the_kyc_prompt_and_cannot_post(client: Any, setup: dict[str, Any]) -> None:
    user = UserFactory(username="newbie", kyc_level=0)
    client.force_login(user)

    page = client.get(URL)

    assert page.status_code == 200
    prompt = panel(page, "order-book")  # the book is there for everyone
    assert prompt
    html = page.content.decode()
    assert 'data-testid="kyc-prompt"' in html
    assert 'href="/kyc"' in html[html.index('data-testid="kyc-prompt"') :]
    assert 'data-testid="order-form"' not in html

    response = client.post(URL, limit_form(price="50000", quantity="0.1"))

    assert response.status_code == 403
    assert "Trading needs a verified account" in text_of(response)
    assert not Order.objects.exists()


def test_visitors_posting_are_sent_to_log_in(client: Any, setup: dict[str, Any]) -> None:
    response = client.post(URL, limit_form(price="50000", quantity="0.1"))
    assert response["Location"].startswith("/login?next=/trade/BTC-USDT")
    assert not Order.objects.exists()


def test_a_halted_market_says_so_and_takes_no_orders(client: Any, setup: dict[str, Any]) -> None:
    Market.objects.filter(symbol="BTC-USDT").update(status=MarketStatus.HALTED)
    client.force_login(setup["alice"])

    page = client.get(URL)
    assert "Trading is halted." in text_of(page)
    assert re.search(r"<button[^>]*data-submit disabled", page.content.decode())

    response = client.post(URL, limit_form(price="50000", quantity="0.1"))
    assert "BTC-USDT is halted: it accepts no new orders." in text_of(response)
    assert not Order.objects.exists()


def test_the_cancel_only_banner(client: Any, setup: dict[str, Any]) -> None:
    Market.objects.filter(symbol="BTC-USDT").update(status=MarketStatus.CANCEL_ONLY)
    assert "Cancel only." in text_of(client.get(URL))


def test_the_page_reads_a_fixed_number_of_queries_however_many_orders_and_fills(
    client: Any, setup: dict[str, Any]
) -> None:
    alice, bob = setup["alice"], setup["bob"]
    client.force_login(alice)
    engine = engine_for("BTC-USDT")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        # The session is cached in Redis; whether it is read from the database too is not the page's doing.
        return len([q for q in captured.captured_queries if "django_session" not in q["sql"]])

    place(alice, side="sell", type="limit", price="60000", quantity="0.1")
    place(bob, side="buy", type="limit", price="60000", quantity="0.1")
    drain(engine)
    few = queries()
    for price in ("61000", "62000", "63000", "64000"):
        place(alice, side="sell", type="limit", price=price, quantity="0.1")
        place(bob, side="buy", type="limit", price=price, quantity="0.1")
    for price in ("70000", "71000", "72000"):
        place(alice, side="sell", type="limit", price=price, quantity="0.1")
    drain(engine)
    assert queries() == few


def test_the_trade_page_shows_the_24_hours_and_is_wired_to_the_stream(client: Any, setup: dict[str, Any]) -> None:
    alice, bob = setup["alice"], setup["bob"]
    place(alice, side="sell", type="limit", price="60000", quantity="0.5")
    place(bob, side="buy", type="limit", price="60000", quantity="0.2")
    place(bob, side="buy", type="limit", price="61000", quantity="0.1")  # takes the rest of alice's at 60000
    place(alice, side="sell", type="limit", price="59000", quantity="0.05")  # the best ask now
    place(bob, side="buy", type="limit", price="59000", quantity="0.05")
    drain(engine_for("BTC-USDT"))

    response = client.get(URL)

    page = text_of(response)
    assert "24h change -1.67%" in page  # from 60000 to 59000
    assert "24h high 60000.00 24h low 59000.00 24h volume 0.3500 BTC" in page
    html = response.content.decode()
    assert 'data-candles-url="/api/market/candles/BTC-USDT"' in html
    assert 'data-stream-depth="50"' in html
    assert "/static/vendor/lightweight-charts/lightweight-charts.standalone.production.js" in html
    for interval in ("1m", "5m", "15m", "1h", "4h", "1d", "1w"):
        assert f'data-interval="{interval}"' in html


# --- The markets page -----------------------------------------------------------------------------------


def test_the_markets_page_lists_every_market_with_its_24_hours(client: Any, setup: dict[str, Any]) -> None:
    alice, bob = setup["alice"], setup["bob"]
    place(alice, side="sell", type="limit", price="60000", quantity="0.2")
    place(bob, side="buy", type="limit", price="60000", quantity="0.2")
    place(alice, side="sell", type="limit", price="61000", quantity="0.1")
    place(bob, side="buy", type="limit", price="61000", quantity="0.1")
    drain(engine_for("BTC-USDT"))

    response = client.get("/markets")  # visitors too

    assert response.status_code == 200
    html = response.content.decode()
    rows = {symbol: row_text(html, f'data-symbol="{symbol}"') for symbol in ("BTC-USDT", "ETH-BTC", "ETH-USDT")}
    # last, change from the first trade's open, high, low, volume, turnover (0.2 x 60000 + 0.1 x 61000)
    assert rows["BTC-USDT"].startswith("BTC /USDT Bitcoin 61000.00 +1.67% 61000.00 60000.00 0.3000 BTC 18100.00 USDT")
    assert rows["ETH-USDT"].startswith("ETH /USDT Ether — — — — 0.0000 ETH 0.00 USDT Trade")
    assert rows["ETH-BTC"].startswith("ETH /BTC Ether — — — — 0.000 ETH 0.00000 BTC Trade")
    for symbol in rows:
        assert f'href="/trade/{symbol}"' in html
    assert "24h volume 18,100.00 USDT 24h trades 2 Markets 3" in panel_text(
        html, 'data-testid="exchange-stats"', "</dl>"
    )
    assert 'href="/markets" aria-current="page"' in html  # in the navigation


# --- The valuation --------------------------------------------------------------------------------------


def test_values_round_half_up_once_per_asset_and_once_for_the_total() -> None:
    def holding(total: str, price: str) -> Holding:
        return Holding("X", "X", 8, D(total), D(0), D(price), priced_by_market=True)

    assert holding("0.125", "1").value_usdt == D("0.13")  # half up, not to even
    portfolio = Portfolio([holding("0.004", "1"), holding("0.004", "1")])
    assert [h.value_usdt for h in portfolio.holdings] == [D("0.00"), D("0.00")]
    assert portfolio.total_usdt == D("0.01")  # the sum of the exact values, rounded
