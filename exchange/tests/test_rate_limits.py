"""Rate limits: 429 with Retry-After in the API's error shape, recovery after the window, tighter
limits on sensitive operations, and failed-login throttling per (account, address) and per address on
the page login and the API login alike (the per-account policy: accounts/tests/test_login_guard.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def limits(**changes: str) -> dict[str, str]:
    """The settings' limits with some changed; counted ones in windows of an hour, since a slow machine
    crossing a minute's boundary between a test's requests starts the count over (a CI flake)."""
    return {**settings.RATE_LIMITS, **changes}


def login(client: APIClient, username: str, password: str) -> Any:
    return client.post("/api/auth/login", {"username": username, "password": password}, format="json")


@override_settings(RATE_LIMITS=limits(anon="3/s"))
def test_anonymous_requests_are_limited_per_address_and_recover() -> None:
    client = APIClient(REMOTE_ADDR="198.51.100.1")
    time.sleep(1 - time.time() % 1)  # start at the beginning of a one-second window
    assert [client.get("/api/market/pairs").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/api/market/pairs")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1
    assert APIClient(REMOTE_ADDR="198.51.100.2").get("/api/market/pairs").status_code == 200  # another address
    time.sleep(1.1)
    assert client.get("/api/market/pairs").status_code == 200


@override_settings(RATE_LIMITS=limits(login="2/h"))
def test_the_login_endpoint_has_a_tighter_limit() -> None:
    client = APIClient(REMOTE_ADDR="198.51.100.3")
    assert [login(client, "nobody", "x").status_code for _ in range(2)] == [401, 401]
    refused = login(client, "nobody", "x")
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "throttled")
    assert client.get("/api/market/pairs").status_code == 200  # other endpoints are not affected


@override_settings(RATE_LIMITS=limits(order="2/h"))
def test_order_placement_is_limited_per_user() -> None:
    from trading.tests.factories import client_for, markets, trader

    markets()
    client = client_for(trader("alice", USDT="10000"))
    order = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "50000", "quantity": "0.01"}
    codes = [client.post("/api/trading/orders", order, format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert client.get("/api/trading/orders").json()["count"] == 2  # reads are not affected


@override_settings(LOGIN_FAILURES_PER_ACCOUNT_IP=3, LOGIN_FAILURES_PER_IP=1000)
def test_failed_logins_are_throttled_per_account_and_address_on_the_api_and_the_page() -> None:
    user = UserFactory(username="carol")
    client = APIClient(REMOTE_ADDR="198.51.100.4")
    for _ in range(3):  # a guess at one account from one address, in any case of the name
        assert login(client, "Carol", "wrong").status_code == 401
    refused = login(client, "carol", PASSWORD)  # even the right password, from that address
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "login_throttled")
    assert int(refused["Retry-After"]) > 3000
    page = Client(REMOTE_ADDR="198.51.100.4").post("/login", {"username": "carol", "password": PASSWORD})
    assert page.status_code == 200
    assert "Too many failed logins" in page.content.decode()
    assert not user.last_login
    # Anyone can send wrong passwords for an account: elsewhere, its owner is not refused.
    assert login(APIClient(REMOTE_ADDR="198.51.100.5"), "carol", PASSWORD).status_code == 200


@override_settings(LOGIN_FAILURES_PER_ACCOUNT_IP=1000, LOGIN_FAILURES_PER_IP=2)
def test_failed_logins_are_throttled_per_address() -> None:
    UserFactory(username="dave")
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    for name in ("erin", "frank"):  # spraying one password over many accounts
        assert login(client, name, "Password1!").status_code == 401
    assert login(client, "dave", PASSWORD).status_code == 429
    assert login(APIClient(REMOTE_ADDR="198.51.100.10"), "dave", PASSWORD).status_code == 200


@override_settings(RATE_LIMITS=limits(register="2/h"))
def test_page_forms_have_the_same_limits() -> None:
    page = Client(REMOTE_ADDR="198.51.100.11")
    form = {"username": "", "email": "", "password": "", "password2": ""}
    assert [page.post("/register", form).status_code for _ in range(2)] == [200, 200]
    refused = page.post("/register", form)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "Too many requests" in refused.content.decode()
    assert page.get("/register").status_code == 200  # reading the page is not limited
