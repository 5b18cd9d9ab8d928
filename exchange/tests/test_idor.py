"""The IDOR matrix: every object endpoint and verb, tried with another user's credentials (JWT, session
page, API key) answers 404 — never 403, which would confirm the object exists — and changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core import serializers
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Notification
from apikeys.services import create_key
from kyc.models import LevelLimit
from kyc.tests.factories import verified_user
from trading import services as trading
from trading.tests.factories import client_for, markets
from wallets import withdrawals
from wallets.models import Asset, WithdrawalAddress
from wallets.tests.factories import fund

pytestmark = pytest.mark.django_db

ADDRESS = "bc1qowner000000000000000000000000000000"


@pytest.fixture
def owned(db: Any) -> dict[str, Any]:
    """One of each object, all the owner's."""
    markets()
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1000000"))
    owner = verified_user(level=1, username="owner")
    btc = Asset.objects.get(code="BTC")
    fund(owner.pk, btc, "1")
    fund(owner.pk, Asset.objects.get(code="USDT"), "10000")
    order, _ = trading.place_order(
        user=owner, request=trading.OrderRequest("BTC-USDT", "buy", "limit", price="50000", quantity="0.01")
    )
    withdrawal = withdrawals.request_withdrawal(user=owner, asset=btc, amount="0.1", address=ADDRESS, otp=None)
    entry = WithdrawalAddress.objects.create(user=owner, asset=btc, address=ADDRESS, label="mine")
    return {
        "owner": owner,
        "order": order,
        "withdrawal": withdrawal,
        "entry": entry,
        "key": create_key(user=owner, label="owner's bot", scopes=["read", "trade", "withdraw"]).api_key,
        "notification": Notification.objects.create(user=owner, title="Yours", body="private"),
    }


def snapshot(objects: dict[str, Any]) -> str:
    rows = [o for name, o in objects.items() if name != "owner" and o is not None]
    for row in rows:
        row.refresh_from_db()
    return serializers.serialize("json", rows)


def api_requests(o: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    from kyc.models import Document

    document = Document.objects.filter(verification__user=o["owner"]).first()
    assert document is not None
    return [
        ("get", f"/api/trading/orders/{o['order'].pk}", {}),
        ("delete", f"/api/trading/orders/{o['order'].pk}", {}),
        ("get", f"/api/wallet/withdrawals/{o['withdrawal'].pk}", {}),
        ("post", f"/api/wallet/withdrawals/{o['withdrawal'].pk}/confirm", {"token": "x" * 20}),
        ("post", f"/api/wallet/withdrawals/{o['withdrawal'].pk}/cancel", {}),
        ("delete", f"/api/wallet/address-book/{o['entry'].pk}", {}),
        ("get", f"/api/kyc/documents/{document.pk}/file", {}),
        ("patch", f"/api/api-keys/{o['key'].pk}", {"label": "stolen", "scopes": ["read"]}),
        ("delete", f"/api/api-keys/{o['key'].pk}", {}),
        ("get", f"/api/api-keys/{o['key'].pk}/usage", {}),
    ]


def page_requests(o: dict[str, Any]) -> list[tuple[str, str]]:
    from kyc.models import Document

    document = Document.objects.filter(verification__user=o["owner"]).first()
    assert document is not None
    return [
        ("post", f"/trade/BTC-USDT/orders/{o['order'].pk}/cancel"),
        ("post", f"/wallet/withdrawals/{o['withdrawal'].pk}/cancel"),
        ("get", f"/kyc/documents/{document.pk}"),
        ("post", f"/api-keys/{o['key'].pk}/revoke"),
    ]


def test_every_object_endpoint_refuses_another_users_token(owned: dict[str, Any]) -> None:
    intruder = client_for(verified_user(level=1, username="intruder"))
    before = snapshot(owned)
    for method, path, body in api_requests(owned):
        response = getattr(intruder, method)(path, body, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "not_found"
    assert snapshot(owned) == before


def test_every_page_action_refuses_another_users_session(owned: dict[str, Any]) -> None:
    intruder = Client()
    intruder.force_login(verified_user(level=1, username="intruder"))
    before = snapshot(owned)
    for method, path in page_requests(owned):
        assert getattr(intruder, method)(path).status_code == 404, (method, path)
    assert snapshot(owned) == before


def test_lists_never_show_another_users_objects(owned: dict[str, Any]) -> None:
    from accounts.tests.factories import UserFactory

    intruder = client_for(UserFactory(username="intruder"))  # with nothing of their own to list
    for path in ("/api/trading/orders", "/api/trading/fills", "/api/wallet/transactions", "/api/kyc/documents"):
        body = intruder.get(path).json()
        assert body["count"] == 0, path
    assert intruder.get("/api/wallet/address-book").json()["addresses"] == []
    assert intruder.get("/api/api-keys").json() == []
    page = Client()
    page.force_login(owned["order"].user.__class__.objects.get(username="intruder"))
    assert "private" not in page.get("/").content.decode()  # someone else's notification


def test_another_users_api_key_gets_nothing_of_the_owner(owned: dict[str, Any]) -> None:
    """A key authenticates its own user: with it, the owner's objects are as foreign as with a token."""
    intruder = verified_user(level=1, username="intruder")
    from apikeys.services import create_key as make

    new = make(user=intruder, label="intruder bot", scopes=["read", "trade"])
    from apikeys.tests.test_api_keys import Signed

    signed = Signed(new.key, new.secret)
    assert signed.get(f"/api/trading/orders/{owned['order'].pk}").status_code == 404
    assert APIClient().get(f"/api/trading/orders/{owned['order'].pk}").status_code == 401
