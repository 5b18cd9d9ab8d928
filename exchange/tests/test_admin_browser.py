"""In a real Chromium: compliance, treasury and the superuser each open the admin and move money through it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import screenshot, totp_code
from kyc import services as kyc_services
from kyc.models import AmlFlag, LevelLimit, Verification
from kyc.tests.factories import DETAILS, image_bytes, staff_user, upload, verified_user
from wallets import withdrawals
from wallets.assets import ensure_assets
from wallets.audit import run_audit
from wallets.audit_runs import record_audit
from wallets.models import Asset, Withdrawal, WithdrawalStatus
from wallets.tests.factories import fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _with_two_factor(user: Any) -> TOTPDevice:
    account_services.start_two_factor_setup(user=user)
    device = TOTPDevice.objects.get(user=user)
    account_services.confirm_two_factor(user=user, code=totp_code(device))
    return device


@pytest.fixture
def exchange(live_server: Any, settings: Any) -> dict[str, Any]:
    """An exchange with work waiting for each role; staff with 2FA on (made before the browser starts)."""
    settings.WITHDRAWAL_EMAIL_CONFIRMATION = False
    ensure_assets()
    btc, usdt = Asset.objects.get(code="BTC"), Asset.objects.get(code="USDT")
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e7"), review_threshold=Decimal("1000"))
    whale = verified_user(level=1, username="whale")
    fund(whale.pk, btc, "1234.5")
    fund(whale.pk, usdt, "250000")
    withdrawals.request_withdrawal(
        user=whale, asset=btc, amount="2.5", address="bc1qexampleaddress000000000000000000000", otp=None
    )  # held for review: worth 150,000 USDT
    stuck = Withdrawal.objects.create(user=whale, asset=usdt, amount=Decimal("1200"), fee=Decimal("1"),
                                      address="0x5e1f000000000000000000000000000000000001",
                                      status=WithdrawalStatus.PROCESSING, txid="sim-usdt-0001",
                                      value_usdt=Decimal("1200"))  # fmt: skip
    Withdrawal.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=5))
    for days, name in ((4, "ada"), (2, "grace"), (1, "linus")):
        applicant = UserFactory(username=name)
        kyc_services.submit_details(user=applicant, **DETAILS)
        kyc_services.upload_document(user=applicant, document_type="passport", upload=upload())
        selfie = upload("s.jpg", image_bytes("JPEG"))
        kyc_services.upload_document(user=applicant, document_type="selfie", upload=selfie)
        verification = kyc_services.submit_verification(user=applicant)
        Verification.objects.filter(pk=verification.pk).update(submitted_at=timezone.now() - timedelta(days=days))
    AmlFlag.objects.create(user=whale, rule="rapid_withdrawal", severity="high", fingerprint="w1",
                           summary="Withdrawal of 150000.00 USDT within 24 h of deposits")  # fmt: skip
    record_audit(run_audit(), source="manage.py audit_ledger")
    officer = staff_user("Compliance", username="officer")
    treasurer = staff_user("Treasury", username="treasurer")
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    return {
        "officer": _with_two_factor(officer),
        "treasurer": _with_two_factor(treasurer),
        "root": _with_two_factor(root),
    }


def _sign_in(browser: Any, url: str, username: str, device: TOTPDevice) -> Any:
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(url + "/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("textbox", name="Code").fill(totp_code(device, 1, refresh=False))
    page.get_by_role("button", name="Verify and log in").click()
    return page


def _ask_for_transfer(page: Any, url: str, asset: str, direction: str, amount: str) -> None:
    page.goto(url + "/admin/wallets/coldwallettransfer/add/")
    page.get_by_label("Asset").select_option(label=asset)
    page.get_by_label("Direction").select_option(label=direction)
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Save", exact=True).click()


def test_each_role_lands_on_its_dashboard_and_confirms_before_money_moves(
    live_server: Any, exchange: dict[str, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    url = live_server.url

    # Compliance: its queues, oldest first; rejecting the held withdrawal asks first, with the reason.
    officer = _sign_in(browser, url, "officer", exchange["officer"])
    expect(officer).to_have_url(url + "/admin/")
    expect(officer.locator("#panel-kyc tbody tr").first).to_contain_text("ada")
    expect(officer.locator("#panel-held")).to_contain_text("2.50000000 BTC")
    expect(officer.locator("#panel-hot")).to_have_count(0)
    screenshot(officer, "admin-dashboard-compliance")
    officer.get_by_role("link", name="Withdrawals").first.click()
    expect(officer.locator("#result_list")).to_contain_text("150,000.00")
    screenshot(officer, "admin-withdrawals-compliance")
    officer.get_by_role("link", name="Pending review").click()
    officer.locator("input[name=_selected_action]").first.check()
    officer.locator("select[name=action]").select_option("reject_withdrawals")
    officer.get_by_role("button", name="Go").click()
    expect(officer.get_by_role("heading", name="Reject 1 withdrawal and return the funds?")).to_be_visible()
    screenshot(officer, "admin-withdrawal-reject-confirm-compliance")
    officer.goto(url + "/admin/wallets/coldwallettransfer/add/")
    screenshot(officer, "admin-cold-transfer-forbidden-compliance")

    # Treasury: wallets outside their band; a transfer the wallets cannot make is refused at the field.
    treasurer = _sign_in(browser, url, "treasurer", exchange["treasurer"])
    expect(treasurer.locator("#panel-hot")).to_contain_text("above its ceiling")
    expect(treasurer.locator("#panel-stuck")).to_contain_text("1,200.000000 USDT")
    expect(treasurer.locator("#panel-audit")).to_contain_text("Ledger OK")
    expect(treasurer.locator("#panel-kyc")).to_have_count(0)
    screenshot(treasurer, "admin-dashboard-treasury")
    treasurer.goto(url + "/admin/wallets/asset/")
    expect(treasurer.locator("td.field-hot").first).to_contain_text("1,234.50000000")
    screenshot(treasurer, "admin-assets-treasury")
    _ask_for_transfer(treasurer, url, "BTC", "Hot to cold", "-1")
    expect(treasurer.locator(".errorlist").first).to_have_text("Must be greater than zero.")
    screenshot(treasurer, "admin-cold-transfer-error-treasury")
    _ask_for_transfer(treasurer, url, "BTC", "Hot to cold", "1200")
    expect(treasurer.locator(".errorlist").first).to_contain_text("below its floor")
    screenshot(treasurer, "admin-cold-transfer-band-error-treasury")
    _ask_for_transfer(treasurer, url, "BTC", "Hot to cold", "1000")
    expect(treasurer.get_by_role("heading", name="Move 1,000.00000000 BTC from the hot wallet to the cold wallet?"))\
        .to_be_visible()  # fmt: skip
    screenshot(treasurer, "admin-cold-transfer-confirm-treasury")
    treasurer.get_by_role("button", name="Yes, request this transfer").click()
    expect(treasurer.locator("td.field-amount_shown").first).to_contain_text("1,000.00000000")
    screenshot(treasurer, "admin-cold-transfers-treasury")
    treasurer.locator("input[name=_selected_action]").first.check()
    treasurer.locator("select[name=action]").select_option("execute_transfers")
    treasurer.get_by_role("button", name="Go").click()
    expect(treasurer.get_by_role("heading", name="Execute 1 transfer?")).to_be_visible()
    screenshot(treasurer, "admin-cold-transfer-execute-confirm-treasury")
    treasurer.get_by_role("button", name="Yes, move the funds").click()
    expect(treasurer.get_by_text("1 transfer executed.")).to_be_visible()

    # The superuser: every panel, every section, the system models last; the same form, the same checks.
    root = _sign_in(browser, url, "root", exchange["root"])
    expect(root.locator("#panel-kyc")).to_be_visible()
    expect(root.locator("#panel-hot")).to_be_visible()
    expect(root.locator("#content-related .module").last).to_contain_text("System")
    screenshot(root, "admin-dashboard-superuser")
    root.goto(url + "/admin/wallets/ledgeraccount/")
    screenshot(root, "admin-ledger-accounts-superuser")
    _ask_for_transfer(root, url, "USDT", "Cold to hot", "0.0000001")
    expect(root.locator(".errorlist").first).to_have_text("USDT has at most 6 decimals.")
    screenshot(root, "admin-cold-transfer-error-superuser")
    _ask_for_transfer(root, url, "BTC", "Hot to cold", "100")
    expect(root.get_by_role("heading", name="Move 100.00000000 BTC from the hot wallet to the cold wallet?"))\
        .to_be_visible()  # fmt: skip
    screenshot(root, "admin-cold-transfer-confirm-superuser")
