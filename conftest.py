"""Fixtures shared by every app's tests: API clients, users, TOTP codes, a clean Redis."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import services
from accounts.tests.factories import PASSWORD, UserFactory
from exchange.core import streams
from kyc.limits import ensure_default_limits


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Start each test with an empty Redis database (the test settings give tests their own); end it
    with everything the engine handed to the background publisher sent, so none reaches the next."""
    cache.clear()
    yield
    streams.background.flush()


@pytest.fixture(autouse=True)
def _seeded_level_limits(request: pytest.FixtureRequest) -> None:
    """Give a transactional test the level limits that migration 0002 seeds.

    The compliance policy reads them for every deposit, order and withdrawal (a level without its
    row allows nothing), and the flush that ends each transactional test empties the table. The other
    tests run inside a transaction on the migrated database: they have the rows already.
    """
    marker = request.node.get_closest_marker("django_db")
    by_marker = marker is not None and bool(marker.kwargs.get("transaction", marker.args[0] if marker.args else False))
    if not by_marker and {"transactional_db", "live_server"}.isdisjoint(request.fixturenames):
        return
    request.getfixturevalue("transactional_db")
    ensure_default_limits()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def auth_client(user: Any) -> APIClient:
    """An API client carrying a JWT access token of `user`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {services.issue_tokens(user=user).access}")
    return client


def totp_code(device: TOTPDevice, steps_ahead: int = 0, *, refresh: bool = True) -> str:
    """Return a code for the device, as an authenticator app would show it.

    `steps_ahead=1` asks for a fresh code after one was used. The device is read again first (unless
    `refresh=False`, for browser tests, whose test body must not open database connections): a code
    accepted a step early or late changed its drift and its last used step. When the next unused
    step is not within the tolerance yet, this waits for the next 30-second step, as a person would.
    """
    if refresh and device.pk:
        device.refresh_from_db()
    while True:
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        now_t = totp.t()
        target = max(now_t + steps_ahead, device.last_t + 1)
        if target <= now_t + device.tolerance or target != device.last_t + 1:
            totp.time = time.time() + (target - now_t) * device.step
            return f"{totp.token():0{device.digits}d}"
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.05)


@pytest.fixture
def two_factor_user(user: Any) -> Any:
    """A user with 2FA on: a confirmed authenticator device and backup codes (on `user.backup_codes`)."""
    services.start_two_factor_setup(user=user)
    device = TOTPDevice.objects.get(user=user)
    user.backup_codes = services.confirm_two_factor(user=user, code=totp_code(device))
    user.totp_device = device
    # Turned on longer ago than the withdrawal lock that follows a 2FA change lasts.
    user.security_changed_at = timezone.now() - timedelta(hours=settings.WITHDRAWAL_LOCK_HOURS, minutes=1)
    user.save(update_fields=["security_changed_at"])
    return user


def signed_in_with_2fa(client: Any, user: Any) -> Any:
    """Turn 2FA on for `user` and sign `client` in with password and code, as staff do for the admin."""
    services.start_two_factor_setup(user=user)
    device = TOTPDevice.objects.get(user=user)
    services.confirm_two_factor(user=user, code=totp_code(device))
    client.post("/login", {"username": user.username, "password": PASSWORD})
    response = client.post("/login/code", {"otp": totp_code(device, 1)})
    assert response.status_code == 302, "the two-step login failed"
    return client


def api_signed_in_with_2fa(user: Any) -> APIClient:
    """Return an API client whose JWT came from a login with password and code, as staff endpoints demand.

    Turns 2FA on for `user` when it is off. Each call signs in anew, with a fresh backup code: a TOTP
    code is good once per 30-second step, and a test may sign one person in more than once.
    """
    if not services.has_two_factor(user):
        services.start_two_factor_setup(user=user)
        services.confirm_two_factor(user=user, code=totp_code(TOTPDevice.objects.get(user=user, confirmed=False)))
    code = StaticToken.random_token()
    StaticToken.objects.create(device=StaticDevice.objects.get(user=user), token=code)
    client = APIClient()
    response = client.post(
        "/api/auth/login", {"username": user.username, "password": PASSWORD, "otp": code}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


# --- Browser tests (Playwright driving Debian's Chromium) --------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else None


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium; a test opens one context per person (`browser.new_context()`).

    Ask for `live_server` before this fixture, so that the browser closes its connections before
    the server stops (otherwise a server thread may still hold a database connection).
    """
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (REQUIRE_BROWSER=1) but not installed: apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the database calls made here are
    # ordinary blocking ones from the test, which is what Django's async guard would refuse.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (only the browser tests load Playwright)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            yield chromium
        finally:
            for context in chromium.contexts:
                context.close()
            chromium.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot when SCREENSHOT_DIR is set (the README's pictures come from here)."""
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def race(action: Callable[[], Any], threads: int = 4) -> list[Any]:
    """Run `action` in several threads released together; return each result or exception."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = action()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return results


class ErrorLog(logging.Handler):
    """The ERROR lines a logger wrote (caplog misses them once something reconfigures logging)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def errors_logged(logger: str) -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logging.getLogger(logger).addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger(logger).removeHandler(handler)
