"""The site's root: the landing page for visitors, and for a signed-in user the dashboard, which values
each balance in USDT and shows the orders, fills, transfers and notifications of every app.

The engine runs in this process (`drain`); the ledger audit runs after every test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.notifications import Notice
from accounts.services import notify_user
from accounts.tests.factories import UserFactory
from trading import services
from trading.models import Order
from trading.tests.factories import drain, engine_for, markets, trader
from trading.tests.pages import panel, panel_text, row_text, text_of
from wallets.models import Asset
from wallets.tests.conftest import _audit_after_each_test  # noqa: F401  (every test ends with the audit)
from wallets.tests.factories import fund

pytestmark = pytest.mark.django_db


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


def test_visitors_get_the_landing_page(client: Any, setup: dict[str, Any]) -> None:
    # When a visitor opens the root of the site
    response = client.get("/")

    # Then it invites them in, and shows nobody's balances
    assert "Create an account" in text_of(response)
    assert 'data-testid="balances"' not in response.content.decode()


def test_the_dashboard_values_each_balance_in_usdt(client: Any, setup: dict[str, Any]) -> None:
    # Given BTC last traded at 60,000 and ETH never on ETH-USDT (its reference price is 3,000)
    alice, bob = setup["alice"], setup["bob"]
    fund(alice.pk, Asset.objects.get(code="ETH"), "1.5")
    place(alice, side="sell", type="limit", price="60000", quantity="0.5")
    place(bob, side="buy", type="limit", price="60000", quantity="0.2")
    drain(engine_for("BTC-USDT"))
    client.force_login(alice)

    # When alice opens the root of the site
    response = client.get("/")

    # Then her dashboard values each balance at its price, and the total
    assert response.status_code == 200
    html = response.content.decode()
    # alice: 2 - 0.2 BTC (0.3 of it still offered), 1.5 ETH, 100,000 + 12,000 - 0.1% fee USDT
    assert row_text(html, 'data-asset="BTC"') == "BTC Bitcoin 1.50 0.30 1.80 108,000.00"
    assert row_text(html, 'data-asset="ETH"') == "ETH Ether 1.50 0.00 1.50 4,500.00"
    assert row_text(html, 'data-asset="USDT"') == "USDT Tether USD 111988.00 0.00 111988.00 111,988.00"
    assert "Total 224,488.00" in panel_text(html, "<tfoot>", "</tfoot>")
    assert "Estimated value 224,488.00 USDT" in text_of(response)
    assert 'title="at 3000.00 USDT (reference price)"' in html
    assert 'title="at 60000.00 USDT"' in html


def test_the_dashboard_shows_orders_trades_transfers_and_notifications(client: Any, setup: dict[str, Any]) -> None:
    # Given alice's sell order partly filled by bob, and a notification for her
    alice, bob = setup["alice"], setup["bob"]
    place(alice, side="sell", type="limit", price="60000", quantity="0.5")
    place(bob, side="buy", type="limit", price="60000", quantity="0.2")
    drain(engine_for("BTC-USDT"))
    notify_user(Notice(user_id=alice.pk, title="You are verified: level 1", body="You can now trade."), email=False)
    client.force_login(alice)

    # When she opens her dashboard
    response = client.get("/")

    # Then it shows each app's part of her account: orders, fills, transfers, news, level and 2FA
    assert "Welcome back, alice" in text_of(response)
    assert re.search(r"BTC/USDT Sell Limit 60000\.00 0\.5000 0\.2000 Partially filled", panel(response, "open-orders"))
    assert 'data-filled="0.2000"' in response.content.decode()  # where the fill toasts start from
    assert re.search(r"BTC/USDT Sell maker 60000\.00 0\.2000 12\.00 USDT", panel(response, "fills"))
    assert "Deposit 100000 USDT Credited" in panel(response, "transactions")
    assert "You are verified: level 1 just now You can now trade." in panel(response, "notifications")
    assert "Level 1 · verified" in text_of(response)
    assert "Turn on two-factor authentication before you deposit." in text_of(response)


def test_an_unverified_user_is_asked_to_verify(client: Any, setup: dict[str, Any]) -> None:
    # Given a new user at level 0
    client.force_login(UserFactory(username="newbie", kyc_level=0))

    # When they open their dashboard
    page = text_of(client.get("/"))

    # Then it asks them to verify, and has no orders to show
    assert "Level 0 · not verified" in page
    assert "Verify your identity to trade and withdraw" in page
    assert "No open orders." in page


def test_the_dashboard_reads_a_fixed_number_of_queries(client: Any, setup: dict[str, Any]) -> None:
    alice, bob = setup["alice"], setup["bob"]
    client.force_login(alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        return len([q for q in captured.captured_queries if "django_session" not in q["sql"]])

    # Given the queries of a dashboard with one fill
    place(alice, side="sell", type="limit", price="60000", quantity="0.1")
    place(bob, side="buy", type="limit", price="60000", quantity="0.1")
    drain(engine_for("BTC-USDT"))
    few = queries()
    # When alice has more fills, open orders and assets
    for price in ("61000", "62000", "63000"):
        place(alice, side="sell", type="limit", price=price, quantity="0.1")
        place(bob, side="buy", type="limit", price=price, quantity="0.1")
    for price in ("70000", "71000"):
        place(alice, side="sell", type="limit", price=price, quantity="0.1")
    fund(alice.pk, Asset.objects.get(code="ETH"), "1")
    drain(engine_for("BTC-USDT"))
    # Then her dashboard reads the same number of queries
    assert queries() == few
