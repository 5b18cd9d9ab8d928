"""In a real Chromium: deposit, see the balance, withdraw with a 2FA code, confirm by email, see the history."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import screenshot, totp_code
from kyc.models import LevelLimit
from wallets.tasks import scan_deposits
from wallets.tests.factories import make_asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def in_thread(work: Callable[[], Any]) -> None:
    """Run database work in a thread of its own (it closes its connection), like a Celery worker would."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)


@pytest.fixture
def trader(live_server: Any) -> tuple[Any, TOTPDevice]:
    """A verified trader with 2FA on, made before the browser starts (see kyc/tests/test_browser.py)."""
    make_asset("USDT")
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e6"), review_threshold=Decimal("1e6"))
    user = UserFactory(username="hodler", kyc_level=1)
    account_services.start_two_factor_setup(user=user)
    device = TOTPDevice.objects.get(user=user)
    account_services.confirm_two_factor(user=user, code=totp_code(device))
    # 2FA went on long enough ago that the withdrawal lock after a 2FA change is over.
    type(user).objects.filter(pk=user.pk).update(security_changed_at=timezone.now() - timedelta(days=2))
    return user, device


def test_deposit_withdraw_with_2fa_and_history(live_server: Any, trader: tuple[Any, TOTPDevice], page: Any) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    user, device = trader
    page.goto(url + "/wallet")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("textbox", name="Code").fill(totp_code(device, 1, refresh=False))
    page.get_by_role("button", name="Verify and log in").click()
    expect(page).to_have_url(url + "/wallet")

    # Deposit 2,500 USDT on the simulated network; the worker's scan credits it.
    page.get_by_role("link", name="Deposit", exact=True).first.click()
    page.get_by_role("link", name="USDT").click()
    expect(page.get_by_test_id("deposit-address")).to_contain_text("simusdt1")
    page.get_by_role("combobox", name="Asset").select_option("USDT")
    page.get_by_label("Amount").fill("2500")
    page.get_by_role("button", name="Send to my address").click()
    expect(page.get_by_text("2500 USDT is on its way")).to_be_visible()
    screenshot(page, "wallet-deposit")
    in_thread(scan_deposits)

    page.get_by_role("link", name="Balances").click()
    expect(page.get_by_test_id("balances").get_by_role("row", name="USDT")).to_contain_text("2500.000000")

    # Withdraw 1,000 USDT with a 2FA code, then confirm with the link from the email.
    page.get_by_role("link", name="Withdraw", exact=True).first.click()
    page.get_by_role("combobox", name="Asset").select_option("USDT")
    page.get_by_label("Amount").fill("1000")
    page.get_by_label("Destination address").fill("0xrecipient000000000000000000000000000001")
    page.get_by_label("Two-factor code").fill(totp_code(device, 2, refresh=False))
    screenshot(page, "wallet-withdraw")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_text("Check your email")).to_be_visible()
    link = re.search(r"/wallet/withdrawals/\d+/confirm\?token=[\w-]+", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page.goto(url + link.group(0))
    page.get_by_role("button", name="Confirm and send").click()
    expect(page.get_by_test_id("withdrawal-status")).to_have_text("Completed")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_test_id("transactions").get_by_role("row").nth(1)).to_contain_text("Completed")
    screenshot(page, "wallet-history")

    page.get_by_role("link", name="Balances").click()
    expect(page.get_by_test_id("balances").get_by_role("row", name="USDT")).to_contain_text("1500.000000")
    screenshot(page, "wallet-balances")
