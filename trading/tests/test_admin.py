"""Orders and trades in the admin: prices and quantities at their assets' precision, not 18 decimals."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from conftest import signed_in_with_2fa
from trading import services
from trading.tests.factories import drain, engine_for, markets, trader

pytestmark = pytest.mark.django_db


def test_orders_and_trades_show_at_the_markets_precision(client):
    # Given a trade of 0.5 BTC at 60,000 USDT
    markets()
    seller, buyer = trader("seller", BTC="1"), trader("buyer", USDT="100000")
    for user, side in ((seller, "sell"), (buyer, "buy")):
        order = services.OrderRequest(symbol="BTC-USDT", side=side, type="limit", price="60000", quantity="0.5")
        services.place_order(user=user, request=order)
    drain(engine_for("BTC-USDT"))
    signed_in_with_2fa(client, UserFactory(is_staff=True, is_superuser=True))
    # Then the admin lists them with separators at the assets' places
    for path in ("/admin/trading/order/", "/admin/trading/trade/"):
        text = client.get(path).content.decode()
        assert "60,000.000000" in text, path  # USDT has 6 places
        assert "0.50000000" in text, path  # BTC has 8
        assert "60000.000000000000000000" not in text, path
