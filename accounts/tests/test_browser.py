"""In a real Chromium: register, turn on 2FA, log out, log in again with a code."""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import TOTP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "")) if os.environ.get("SCREENSHOT_DIR") else None


@pytest.fixture
def page() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (REQUIRE_BROWSER=1) but not installed: apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the database calls made here are
    # ordinary blocking ones from the test, which is what Django's async guard would refuse.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _code(secret: str, steps_ahead: int = 0) -> str:
    """Compute what an authenticator app shows for this base32 secret."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_register_enable_2fa_log_out_and_log_in_with_a_code(page: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    page.goto(url + "/")
    _shot(page, "landing")
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("Username").fill("browser_trader")
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label("Password", exact=True).fill("a-strong-passphrase-42")
    page.get_by_label("Repeat password").fill("a-strong-passphrase-42")
    _shot(page, "register")
    page.get_by_role("button", name="Create account").click()

    # Registration signs in and leads to the security settings.
    expect(page).to_have_url(url + "/security")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.get_by_role("button", name="Set up two-factor authentication").click()

    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    _shot(page, "security-2fa-setup")
    page.get_by_role("textbox", name="Code").fill(_code(secret))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_text("Two-factor authentication is on.")).to_be_visible()
    expect(page.get_by_role("list", name="Backup codes").get_by_role("listitem")).to_have_count(10)
    _shot(page, "security-2fa-on")

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
    _shot(page, "login-code")
    page.wait_for_timeout(1100)  # each wrong code makes the next try wait (1 s after the first)

    page.get_by_role("textbox", name="Code").fill(_code(secret, steps_ahead=1))  # the setup spent the current code
    page.get_by_role("button", name="Verify and log in").click()
    expect(page).to_have_url(url + "/")
    expect(page.get_by_role("heading", name="Welcome back, browser_trader")).to_be_visible()
    expect(page.get_by_text("2FA on")).to_be_visible()
    _shot(page, "account")
