"""In a real Chromium: a trader submits, compliance approves in the admin, the trader is verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import screenshot, totp_code
from kyc.tests.factories import image_bytes, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, url: str, username: str, code: str | None = None) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if code is not None:
        page.get_by_role("textbox", name="Code").fill(code)
        page.get_by_role("button", name="Verify and log in").click()


@pytest.fixture
def people(live_server: Any) -> tuple[Any, Any, TOTPDevice]:
    """A trader, and a compliance officer with 2FA on.

    Made before the browser starts: Playwright runs the test body in a greenlet of its own, where
    Django would open a second database connection that outlives the test.
    """
    trader = UserFactory(username="satoshi")
    officer = staff_user("Compliance", username="officer")
    account_services.start_two_factor_setup(user=officer)
    device = TOTPDevice.objects.get(user=officer)
    account_services.confirm_two_factor(user=officer, code=totp_code(device))
    return trader, officer, device


def test_submit_then_compliance_approves_in_the_admin_then_verified(
    live_server: Any, people: tuple[Any, Any, TOTPDevice], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    trader, officer, device = people
    passport, selfie = tmp_path / "passport.png", tmp_path / "selfie.jpg"
    passport.write_bytes(image_bytes("PNG", (640, 420)))
    selfie.write_bytes(image_bytes("JPEG", (480, 640)))

    # The trader submits details and documents.
    me = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    me.goto(url + "/kyc")
    _sign_in(me, url, trader.username)
    expect(me).to_have_url(url + "/kyc")
    me.get_by_label("Full name").fill("Satoshi Nakamoto")
    me.get_by_label("Date of birth").fill("1975-04-05")
    me.get_by_label("Country of residence").select_option("JP")
    me.get_by_label("Residential address").fill("1-1 Chiyoda, Tokyo 100-0001")
    me.get_by_role("button", name="Save details").click()
    expect(me.get_by_text("Details saved. Now upload your documents.")).to_be_visible()
    me.get_by_label("Document", exact=True).select_option("passport")
    me.get_by_label("File", exact=True).set_input_files(str(passport))
    me.get_by_role("button", name="Upload").click()
    expect(me.get_by_text("Passport uploaded.")).to_be_visible()
    me.get_by_label("Document", exact=True).select_option("selfie")
    me.get_by_label("File", exact=True).set_input_files(str(selfie))
    me.get_by_role("button", name="Upload").click()
    expect(me.get_by_text("Selfie uploaded.")).to_be_visible()
    screenshot(me, "kyc-draft")
    me.get_by_role("button", name="Submit for review").click()
    expect(me.get_by_test_id("kyc-summary")).to_contain_text("under review")
    screenshot(me, "kyc-pending")

    # Compliance opens the queue in the admin (password and code) and approves.
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff.goto(url + "/admin/")
    _sign_in(staff, url, officer.username, code=totp_code(device, 1, refresh=False))
    expect(staff).to_have_url(url + "/admin/")
    staff.get_by_role("link", name="Verifications").click()
    staff.get_by_role("link", name="satoshi").first.click()
    expect(staff.get_by_role("img", name="Passport")).to_be_visible()
    screenshot(staff, "admin-verification")
    staff.get_by_role("button", name="Approve…").click()
    screenshot(staff, "admin-approve")
    staff.get_by_role("button", name="Yes, approve").click()
    expect(staff.get_by_text("Approved: satoshi is now at level 1.")).to_be_visible()

    # The trader sees it.
    me.reload()
    expect(me.get_by_text("Verified", exact=True)).to_be_visible()
    expect(me.get_by_test_id("kyc-summary")).to_contain_text("Level 1")
    screenshot(me, "kyc-verified")
