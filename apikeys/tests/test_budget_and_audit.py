"""A user's API keys share the user's rate budget (a key may be held to less, never more); creating
and revoking a key commit together with their audit rows, or not at all; a key's whitelist sees the
client's address, never one it claims."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from accounts import audit
from accounts.models import AuditAction, AuditEvent
from apikeys import services
from apikeys.models import ApiKey
from apikeys.tests.test_api_keys import Signed, create
from trading.tests.factories import client_for, markets, trader

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db: Any) -> Any:
    markets()
    return trader("alice", USDT="10000")


def limits(**changes: str) -> dict[str, str]:
    return {**settings.RATE_LIMITS, **changes}


def signed_keys(user: Any, count: int, scopes: tuple[str, ...] = ("read",)) -> list[Signed]:
    """Keys made by the service, so that making them spends none of the budget under test."""
    made = [services.create_key(user=user, label=f"bot {n}", scopes=list(scopes)) for n in range(count)]
    return [Signed(new.key, new.secret) for new in made]


@override_settings(RATE_LIMITS=limits(user="3/m", api_key="3/m"))
def test_many_keys_share_one_budget(alice: Any) -> None:
    signed = signed_keys(alice, 4)
    codes = [key.get("/api/wallet/balances").status_code for key in signed]
    assert codes == [200, 200, 200, 429]  # the fourth request of the user, from a fresh key
    assert signed[0].get("/api/wallet/balances").status_code == 429
    assert client_for(alice).get("/api/wallet/balances").status_code == 429  # the user's own token too


@override_settings(RATE_LIMITS=limits(user="10/m", api_key="2/m"))
def test_a_key_may_be_held_to_less_than_its_user(alice: Any) -> None:
    one, two = signed_keys(alice, 2)
    assert [one.get("/api/wallet/balances").status_code for _ in range(3)] == [200, 200, 429]
    assert two.get("/api/wallet/balances").status_code == 200


@override_settings(RATE_LIMITS=limits(user="100/m", api_key="100/m", order="2/m"))
def test_the_tighter_limits_are_per_user_too(alice: Any) -> None:
    order = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "50000", "quantity": "0.01"}
    codes = [key.post("/api/trading/orders", order).status_code for key in signed_keys(alice, 3, ("read", "trade"))]
    assert codes == [201, 201, 429]


def test_a_whitelisted_address_claimed_in_a_header_is_not_believed(alice: Any) -> None:
    body = create(alice, ip_whitelist=["192.0.2.1"])
    outside = Signed(body["key"], body["secret"], ip="198.51.100.60")
    response = outside.get("/api/wallet/balances", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "ip_not_allowed")
    with override_settings(TRUSTED_PROXIES=["10.0.0.0/8"]):
        proxied = Signed(body["key"], body["secret"], ip="10.0.0.2")
        assert proxied.get("/api/wallet/balances", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 200
        assert proxied.get("/api/wallet/balances", HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 403


def test_a_key_is_not_created_or_revoked_without_its_audit_row(alice: Any) -> None:
    # Given an audit write that fails in the database (an address the field refuses)
    token = audit._origin.set(audit.Origin("not-an-address", ""))
    try:
        with pytest.raises(Exception, match="not appear to be an IPv4 or IPv6 address"):
            services.create_key(user=alice, label="bot", scopes=["read"])
        assert not ApiKey.objects.exists()
    finally:
        audit._origin.reset(token)
    new = services.create_key(user=alice, label="bot", scopes=["read"])
    token = audit._origin.set(audit.Origin("not-an-address", ""))
    try:
        with pytest.raises(Exception, match="not appear to be an IPv4 or IPv6 address"):
            services.revoke_key(user=alice, key_id=new.api_key.pk)
    finally:
        audit._origin.reset(token)
    assert ApiKey.objects.get().revoked_at is None
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [AuditAction.API_KEY_CREATED]


def test_a_browser_string_postgres_refuses_is_cleaned_not_fatal(alice: Any) -> None:
    response = client_for(alice).post(
        "/api/api-keys", {"label": "bot", "scopes": ["read"]}, format="json", HTTP_USER_AGENT="bot\x00/1.0"
    )
    assert response.status_code == 201
    assert AuditEvent.objects.get(action=AuditAction.API_KEY_CREATED).user_agent == "bot/1.0"
