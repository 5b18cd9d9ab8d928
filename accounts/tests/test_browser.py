"""In a real Chromium: register, turn on 2FA, log out, log in again with a code."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from django_otp.oath import TOTP

from conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(secret: str, steps_ahead: int = 0) -> str:
    """Compute what an authenticator app shows for this base32 secret."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def test_register_enable_2fa_log_out_and_log_in_with_a_code(live_server: Any, page: Any) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    page.goto(url + "/")
    screenshot(page, "landing")
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("Username").fill("browser_trader")
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label("Password", exact=True).fill("a-strong-passphrase-42")
    page.get_by_label("Repeat password").fill("a-strong-passphrase-42")
    screenshot(page, "register")
    page.get_by_role("button", name="Create account").click()

    # Registration signs in and leads to the security settings.
    expect(page).to_have_url(url + "/security")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.get_by_role("button", name="Set up two-factor authentication").click()

    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    screenshot(page, "security-2fa-setup")
    page.get_by_role("textbox", name="Code").fill(_code(secret))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_text("Two-factor authentication is on.")).to_be_visible()
    expect(page.get_by_role("list", name="Backup codes").get_by_role("listitem")).to_have_count(10)
    screenshot(page, "security-2fa-on")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username").fill("browser_trader")
    page.get_by_label("Password").fill("a-strong-passphrase-42")
    page.get_by_role("button", name="Log in").click()

    # Second step: the password alone does not sign in.
    expect(page).to_have_url(url + "/login/code")
    page.get_by_role("textbox", name="Code").fill("000000")
    page.get_by_role("button", name="Verify and log in").click()
    expect(page.get_by_text("The code is wrong, expired or already used.")).to_be_visible()
    screenshot(page, "login-code")
    page.wait_for_timeout(1100)  # each wrong code makes the next try wait (1 s after the first)

    page.get_by_role("textbox", name="Code").fill(_code(secret, steps_ahead=1))  # the setup spent the current code
    page.get_by_role("button", name="Verify and log in").click()
    expect(page).to_have_url(url + "/")
    expect(page.get_by_role("heading", name="Welcome back, browser_trader")).to_be_visible()
    expect(page.get_by_text("2FA on")).to_be_visible()
    screenshot(page, "account")
