"""Placing an order asks the compliance policy: the admin's `can_trade` switch decides, for the API, the
page and the service alike. The ledger audit runs after every test (conftest)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import User
from accounts.tests.test_api_auth import assert_error
from kyc.models import LevelLimit
from kyc.policy import KycRequired
from trading import services
from trading.models import Order
from trading.tests.factories import balance, client_for, markets, trader

pytestmark = pytest.mark.django_db

D = Decimal
URL = "/trade/BTC-USDT"
ORDER = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "50000", "quantity": "0.1"}


@pytest.fixture
def plus(db: Any) -> User:
    """A level-2 (verified plus) trader with 10,000 USDT."""
    markets()
    user = trader("petra", USDT="10000")
    User.objects.filter(pk=user.pk).update(kyc_level=2)
    user.refresh_from_db()
    return user


def test_switching_trading_off_for_level_2_refuses_its_orders_on_the_api_and_on_again_accepts_them(
    plus: User,
) -> None:
    # Given compliance switched trading off for level 2
    LevelLimit.objects.filter(level=2).update(can_trade=False)
    client = client_for(plus)

    # When the level-2 trader places an order through the API
    response = client.post("/api/trading/orders", ORDER, format="json")

    # Then it is refused with the API's error shape, no level being above theirs, and nothing is held
    error = assert_error(response, 403, "kyc_required")
    assert error["details"] == {"required_level": None, "kyc_level": 2}
    assert error["message"] == "Trading is not open to accounts at level 2."
    assert not Order.objects.exists()
    assert balance(plus, "USDT") == (D("10000"), D("0"))

    # When compliance switches it on again, then the same order is accepted
    LevelLimit.objects.filter(level=2).update(can_trade=True)
    response = client.post("/api/trading/orders", ORDER, format="json")
    assert response.status_code == 201, response.json()
    assert balance(plus, "USDT") == (D("5000"), D("5000"))


def test_switching_trading_off_refuses_the_order_form_with_a_page_error(client: Any, plus: User) -> None:
    # Given compliance switched trading off for level 2, and the trader signed in
    LevelLimit.objects.filter(level=2).update(can_trade=False)
    client.force_login(plus)

    # When they open the trade page, then there is no order form but a prompt saying so
    page = client.get(URL).content.decode()
    assert 'data-testid="order-form"' not in page
    assert "Trading is not open to accounts at level 2" in page

    # When they post the form anyway, then it is refused with a message and no order
    form = {
        "side": "buy",
        "type": "limit",
        "time_in_force": "GTC",
        "request_id": "web-1",
        "price": "50000",
        "quantity": "0.1",
    }
    response = client.post(URL, form)
    assert response.status_code == 403
    assert "Trading is not open to accounts at level 2. No order was placed." in response.content.decode()
    assert not Order.objects.exists()

    # When compliance switches it on again, then the form is back and places the order
    LevelLimit.objects.filter(level=2).update(can_trade=True)
    assert 'data-testid="order-form"' in client.get(URL).content.decode()
    assert client.post(URL, form).status_code == 302
    assert Order.objects.filter(user=plus).count() == 1


def test_switching_trading_on_for_level_0_lets_a_registered_user_trade(plus: User) -> None:
    # Given a registered (level 0) user with funds, who may not trade by default
    newcomer = trader("nina", USDT="10000")
    User.objects.filter(pk=newcomer.pk).update(kyc_level=0)
    newcomer.refresh_from_db()
    request = services.OrderRequest(**ORDER)
    with pytest.raises(KycRequired):
        services.place_order(user=newcomer, request=request)

    # When compliance switches trading on for level 0
    LevelLimit.objects.filter(level=0).update(can_trade=True)

    # Then the service accepts their order
    order, created = services.place_order(user=newcomer, request=request)
    assert created
    assert order.status == "pending"
