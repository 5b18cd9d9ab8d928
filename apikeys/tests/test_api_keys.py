"""API keys: creation (2FA, secret once), management, and signed requests refused every way they should be."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from apikeys.usage import flush_usage
from conftest import totp_code
from trading.models import Order
from trading.tests.factories import client_for, markets, trader

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def sign(secret: str, timestamp: str, method: str, path: str, body: bytes = b"") -> str:
    return hmac.new(
        secret.encode(), timestamp.encode() + method.encode() + path.encode() + body, hashlib.sha256
    ).hexdigest()


class Signed:
    """A client that signs its requests with an API key, as a program would."""

    def __init__(self, key: str, secret: str, ip: str = "127.0.0.1") -> None:
        self.key, self.secret, self.client, self.ip = key, secret, APIClient(), ip

    def headers(self, method: str, path: str, body: bytes = b"", *, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time() * 1000))
        return {
            "HTTP_X_API_KEY": self.key,
            "HTTP_X_API_TIMESTAMP": timestamp,
            "HTTP_X_API_SIGNATURE": sign(self.secret, timestamp, method, path, body),
            "REMOTE_ADDR": self.ip,
        }

    def get(self, path: str, **overrides: Any) -> Any:
        return self.client.get(path, **(self.headers("GET", path) | overrides))

    def post(self, path: str, data: dict[str, Any], **overrides: Any) -> Any:
        body = json.dumps(data).encode()
        return self.client.generic(
            "POST", path, body, content_type="application/json", **(self.headers("POST", path, body) | overrides)
        )


@pytest.fixture
def alice(db: Any) -> Any:
    markets()
    return trader("alice", USDT="10000")


def create(user: Any, **fields: Any) -> dict[str, Any]:
    response = client_for(user).post("/api/api-keys", {"label": "bot", "scopes": ["read"], **fields}, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def test_a_key_is_created_with_its_secret_shown_once_and_stored_hashed_and_encrypted(alice: Any) -> None:
    body = create(alice, scopes=["read", "trade"], ip_whitelist=["10.0.0.0/8", "127.0.0.1"])
    assert body["key"].startswith("ox_")
    assert body["scopes"] == ["read", "trade"]
    assert body["ip_whitelist"] == ["10.0.0.0/8", "127.0.0.1/32"]
    stored = ApiKey.objects.get()
    assert body["key"] not in (stored.key_hash, stored.secret_encrypted)
    assert body["secret"] not in stored.secret_encrypted
    listed = client_for(alice).get("/api/api-keys").json()
    assert "secret" not in listed[0]
    assert "key" not in listed[0]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"scopes": "read"}, "scopes"),
        ({"ip_whitelist": ["not-an-ip"]}, "ip_whitelist"),
        ({"label": ""}, "label"),
    ],
)
def test_bad_keys_are_refused(alice: Any, fields: dict[str, Any], field: str) -> None:
    response = client_for(alice).post("/api/api-keys", {"label": "bot", "scopes": ["read"], **fields}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not ApiKey.objects.exists()


def test_creating_a_key_needs_a_code_when_2fa_is_on(two_factor_user: Any) -> None:
    client = client_for(two_factor_user)
    refused = client.post("/api/api-keys", {"label": "bot", "scopes": ["read"]}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "otp_required")
    device = two_factor_user.totpdevice_set.get()
    body = {"label": "bot", "scopes": ["read"], "otp": totp_code(device)}
    assert client.post("/api/api-keys", body, format="json").status_code == 201


def test_signed_requests_and_every_way_to_get_them_wrong(alice: Any) -> None:
    body = create(alice, scopes=["read", "trade"])
    signed = Signed(body["key"], body["secret"])
    assert signed.get("/api/wallet/balances").status_code == 200
    order = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "50000", "quantity": "0.01"}
    placed = signed.post("/api/trading/orders", order)
    assert placed.status_code == 201, placed.json()

    def refused(response: Any, status: int, code: str) -> None:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.json()

    # Tampered body, path or query: the signature no longer matches.
    tampered = json.dumps(order | {"quantity": "0.02"}).encode()
    headers = signed.headers("POST", "/api/trading/orders", json.dumps(order).encode())
    refused(
        signed.client.generic("POST", "/api/trading/orders", tampered, "application/json", **headers),
        401,
        "signature_invalid",
    )
    refused(
        signed.client.get("/api/wallet/transactions", **signed.headers("GET", "/api/wallet/balances")),
        401,
        "signature_invalid",
    )
    refused(
        signed.client.get("/api/trading/orders?status=open", **signed.headers("GET", "/api/trading/orders")),
        401,
        "signature_invalid",
    )
    # The query is signed with its "?".
    query_headers = signed.headers("GET", "/api/trading/orders?status=open")
    assert signed.client.get("/api/trading/orders?status=open", **query_headers).status_code == 200
    # Outside the 5-second window, or sent twice.
    stale = str(int(time.time() * 1000) - 6000)
    refused(
        signed.get("/api/wallet/balances", **signed.headers("GET", "/api/wallet/balances", timestamp=stale)),
        401,
        "timestamp_out_of_window",
    )
    again = signed.headers("GET", "/api/wallet/balances")
    assert signed.client.get("/api/wallet/balances", **again).status_code == 200
    refused(signed.client.get("/api/wallet/balances", **again), 401, "replayed")
    # A scope the key lacks, and what keys may never do.
    refused(
        signed.post("/api/wallet/withdraw", {"asset": "USDT", "amount": "10", "address": "x"}), 403, "scope_missing"
    )
    refused(signed.post("/api/api-keys", {"label": "another", "scopes": ["read"]}), 403, "not_for_api_keys")
    refused(signed.get("/api/api-keys"), 403, "not_for_api_keys")
    # A wrong secret, an unknown key, a missing signature.
    refused(Signed(body["key"], "not-the-secret").get("/api/wallet/balances"), 401, "signature_invalid")
    refused(Signed("ox_unknown", body["secret"]).get("/api/wallet/balances"), 401, "api_key_invalid")
    refused(APIClient().get("/api/wallet/balances", HTTP_X_API_KEY=body["key"]), 401, "signature_missing")
    assert Order.objects.count() == 1


def test_ip_whitelist_scopes_changes_and_revocation(alice: Any) -> None:
    body = create(alice, scopes=["read"], ip_whitelist=["192.0.2.0/24"])
    inside, outside = Signed(body["key"], body["secret"], ip="192.0.2.7"), Signed(body["key"], body["secret"])
    assert inside.get("/api/wallet/balances").status_code == 200
    response = outside.get("/api/wallet/balances")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "ip_not_allowed")
    owner = client_for(alice)
    changed = owner.patch(f"/api/api-keys/{body['id']}", {"ip_whitelist": [], "label": "renamed"}, format="json")
    assert (changed.json()["label"], changed.json()["ip_whitelist"]) == ("renamed", [])
    assert outside.get("/api/wallet/balances").status_code == 200
    assert owner.delete(f"/api/api-keys/{body['id']}").json()["active"] is False
    response = outside.get("/api/wallet/balances")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "api_key_invalid")


def test_keys_belong_to_their_owner(alice: Any) -> None:
    body = create(alice)
    bob = client_for(trader("bob"))
    assert bob.patch(f"/api/api-keys/{body['id']}", {"label": "mine"}, format="json").status_code == 404
    assert bob.delete(f"/api/api-keys/{body['id']}").status_code == 404
    assert bob.get(f"/api/api-keys/{body['id']}/usage").status_code == 404
    assert bob.get("/api/api-keys").json() == []
    assert ApiKey.objects.get().revoked_at is None


def test_usage_is_counted_without_a_database_write_per_request(alice: Any, django_assert_max_num_queries: Any) -> None:
    body = create(alice)
    signed = Signed(body["key"], body["secret"])
    signed.get("/api/wallet/balances")
    with django_assert_max_num_queries(6):  # the key, the balances; no usage rows
        signed.get("/api/wallet/balances")
    signed.get("/api/trading/orders")
    usage = client_for(alice).get(f"/api/api-keys/{body['id']}/usage").json()
    assert usage["days"][0]["requests"] == 3
    assert usage["days"][0]["endpoints"] == {"GET /api/wallet/balances": 2, "GET /api/trading/orders": 1}
    assert usage["last_used_ip"] == "127.0.0.1"
    assert flush_usage() == 0  # nothing left to flush


def test_the_readme_example_trades_with_an_api_key(alice: Any, live_server: Any) -> None:
    """The README's Python example, run as a program against a live server."""
    body = create(alice, scopes=["read", "trade"])
    example = re.search(r"```python\n(# api_key_example\n.*?)```", README.read_text(), re.S)
    assert example, "the README's API-key example is missing"
    cache.clear()
    result = subprocess.run(
        [sys.executable, "-c", example.group(1)],
        env={"EXCHANGE_URL": live_server.url, "API_KEY": body["key"], "API_SECRET": body["secret"], "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "balances:" in result.stdout
    assert Order.objects.filter(user=alice, client_order_id="readme-1").exists()


def test_a_secret_no_encryption_key_can_read_is_refused_not_a_server_error(alice: Any, settings: Any) -> None:
    # Given a key, then the encryption key its secret was written with dropped before a rotation
    body = create(alice)
    settings.API_KEY_ENCRYPTION_KEYS = ["another-key-that-never-encrypted-it"]
    # When it signs a request
    response = Signed(body["key"], body["secret"]).get("/api/wallet/balances")
    # Then it is refused as an unusable key (and the operator's mistake is logged), not a 500
    assert (response.status_code, response.json()["error"]["code"]) == (401, "api_key_invalid")
