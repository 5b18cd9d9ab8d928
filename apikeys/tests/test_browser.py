"""In a real Chromium: sign in, see the sign-in under recent activity, create an API key (the secret
shown once), use it for a signed request, revoke it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from accounts.tests.factories import PASSWORD, UserFactory
from conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_get(base: str, path: str, key: str, secret: str) -> int:
    timestamp = str(int(time.time() * 1000))
    signature = hmac.new(secret.encode(), f"{timestamp}GET{path}".encode(), hashlib.sha256).hexdigest()
    headers = {"X-API-KEY": key, "X-API-TIMESTAMP": timestamp, "X-API-SIGNATURE": signature}
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers)) as response:  # noqa: S310
            json.load(response)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def gina(live_server: Any) -> Any:
    return UserFactory(username="gina")


def test_api_keys_page_and_recent_activity(live_server: Any, gina: Any, page: Any) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    page.goto(url + "/login")
    page.get_by_label("Username").fill("gina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(url + "/security")
    activity = page.locator("#activity")
    expect(activity.get_by_text("Signed in")).to_be_visible()
    screenshot(page, "security-activity")
    page.get_by_role("link", name="Manage your API keys").click()

    page.get_by_label("Label").fill("market bot")
    page.get_by_label("Trade").check()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("it is shown this once")).to_be_visible()
    key = page.get_by_test_id("new-key").inner_text().strip()
    secret = page.get_by_test_id("new-secret").inner_text().strip()
    screenshot(page, "api-keys")
    assert signed_get(url, "/api/wallet/balances", key, secret) == 200

    page.goto(url + "/api-keys")  # the secret is gone for good
    expect(page.get_by_text("it is shown this once")).to_have_count(0)
    page.get_by_role("button", name="Revoke market bot").click()
    expect(page.get_by_text("is revoked: it works no more")).to_be_visible()
    assert signed_get(url, "/api/wallet/balances", key, secret) == 401

    page.goto(url + "/security")
    expect(activity.get_by_text("API key created")).to_be_visible()
    expect(activity.get_by_text("API key revoked")).to_be_visible()
