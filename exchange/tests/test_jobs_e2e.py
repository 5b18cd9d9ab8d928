"""Jobs queued by the web server reach the worker: the processes of `make run`, nothing eager.

The web server, a Celery worker and beat run from the Procfile on the test database and a broker of
their own; each test drives the web server over HTTP as a user would and waits for what the
worker must do: the withdrawal confirmation email and the payout, the KYC decision email, the
"new sign-in address" email, and (beat) a deposit credited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from django_otp.plugins.otp_totp.models import TOTPDevice
from requests.adapters import HTTPAdapter

from accounts.tests.factories import PASSWORD, UserFactory
from conftest import screenshot, totp_code
from exchange.tests.live import Live, body, eventually, live_passwords, live_processes
from kyc.models import LevelLimit
from kyc.tests.factories import staff_user, verified_user
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "bc1qendtoendwithdrawal000000000000000"


@pytest.fixture(scope="module")
def live(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Live]:
    with (
        django_db_blocker.unblock(),
        live_processes("web", "worker", "beat", extra_env={"DEPOSIT_SCAN_SECONDS": "1"}) as live,
    ):
        yield live


@pytest.fixture(autouse=True)
def _passwords_the_processes_know(settings: Any) -> None:
    live_passwords(settings)


def api_login(live: Live, username: str, otp: str | None = None) -> dict[str, str]:
    credentials = {"username": username, "password": PASSWORD, **({"otp": otp} if otp else {})}
    response = requests.post(f"{live.url}/api/auth/login", json=credentials, timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}


def page_login(live: Live, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{live.url}/login", timeout=10)
    response = session.post(
        f"{live.url}/login",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=10,
    )
    assert response.ok, response.text
    assert "sessionid" in session.cookies, "the page login failed"
    return session


def test_a_withdrawal_requested_by_the_api_is_confirmed_by_the_emailed_link_and_paid_out(live: Live) -> None:
    # Given a verified user with 1 BTC
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e6"), review_threshold=Decimal("1e6"))
    btc = make_asset("BTC")
    user = verified_user(level=1)
    fund(user.pk, btc, "1")
    headers = api_login(live, user.username)

    # When they request a withdrawal through the API
    response = requests.post(
        f"{live.url}/api/wallet/withdraw",
        json={"asset": "BTC", "amount": "0.25", "address": ADDRESS},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    withdrawal = response.json()
    assert withdrawal["status"] == "awaiting_confirmation"

    # Then the worker emails the confirmation link, to the host and port the site runs on
    message = live.mailbox.wait_for(to=user.email, subject="Confirm your withdrawal")
    link = re.search(r"http://\S+/confirm\?token=[\w-]+", body(message))
    assert link, body(message)
    assert link.group(0).startswith(f"{live.url}/wallet/withdrawals/{withdrawal['id']}/confirm?token=")
    status = requests.get(f"{live.url}/api/wallet/withdrawals/{withdrawal['id']}", headers=headers, timeout=10)
    assert status.json()["confirmation_sent_at"]

    # When they follow the link, signed in, and confirm
    session = page_login(live, user.username)
    page = session.get(link.group(0), timeout=10)
    assert "Confirm and send" in page.text
    token = link.group(0).split("token=")[1]
    confirm = session.post(
        link.group(0).split("?")[0],
        data={"token": token, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=10,
    )
    assert confirm.url == f"{live.url}/wallet/withdrawals/{withdrawal['id']}"

    # Then the worker pays it out on the simulated network, and tells them by email
    def completed() -> dict[str, Any] | None:
        answer = requests.get(f"{live.url}/api/wallet/withdrawals/{withdrawal['id']}", headers=headers, timeout=10)
        return answer.json() if answer.json()["status"] == "completed" else None

    done = eventually(completed, what="the withdrawal to complete")
    assert done["txid"]
    live.mailbox.wait_for(to=user.email, subject="Withdrawal of 0.25 BTC: completed")
    balances = requests.get(f"{live.url}/api/wallet/balances", headers=headers, timeout=10).json()
    assert {"asset": "BTC", "available": "0.75000000", "locked": "0.00000000"} in balances


def test_a_kyc_decision_made_through_the_staff_api_is_emailed(live: Live) -> None:
    # Given a user whose verification waits for compliance, and an officer signed in with 2FA
    from accounts import services
    from kyc import services as kyc_services
    from kyc.models import DocumentType
    from kyc.tests.factories import DETAILS, image_bytes, upload

    user = UserFactory()
    kyc_services.submit_details(user=user, **DETAILS)
    kyc_services.upload_document(user=user, document_type=DocumentType.PASSPORT, upload=upload())
    kyc_services.upload_document(
        user=user, document_type=DocumentType.SELFIE, upload=upload("me.jpg", image_bytes("JPEG"))
    )
    verification = kyc_services.submit_verification(user=user)
    officer = staff_user("Compliance")
    services.start_two_factor_setup(user=officer)
    device = TOTPDevice.objects.get(user=officer)
    services.confirm_two_factor(user=officer, code=totp_code(device))
    headers = api_login(live, officer.username, otp=totp_code(device, 1))

    # When the officer approves it through the API
    response = requests.post(
        f"{live.url}/api/kyc/admin/{verification.pk}/approve", json={}, headers=headers, timeout=10
    )
    assert response.status_code == 200, response.text

    # Then the worker emails the user the decision
    message = live.mailbox.wait_for(to=user.email, subject="You are verified: level 1")
    assert "approved" in body(message)


class FromAddress(HTTPAdapter):
    """Connect from another loopback address, as a second device would."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_a_sign_in_from_a_new_address_is_emailed(live: Live) -> None:
    # Given a user who signed in before from 127.0.0.1
    user = UserFactory()
    api_login(live, user.username)
    # When they sign in from another address
    other = requests.Session()
    other.mount("http://", FromAddress("127.0.0.2"))
    response = other.post(
        f"{live.url}/api/auth/login", json={"username": str(user.username), "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    # Then the worker emails them about it, naming the address
    message = live.mailbox.wait_for(to=user.email, subject="Sign-in from a new address")
    assert "127.0.0.2" in body(message)


def test_beat_has_the_worker_credit_a_deposit(live: Live) -> None:
    # Given a verified user
    make_asset("BTC")
    user = verified_user(level=1)
    headers = api_login(live, user.username)
    # When a (simulated) transfer reaches their deposit address
    response = requests.post(
        f"{live.url}/api/wallet/deposit", json={"asset": "BTC", "amount": "0.5"}, headers=headers, timeout=10
    )
    assert response.status_code == 201, response.text
    # Then beat's deposit scan has the worker credit it after its confirmations, and email them
    live.mailbox.wait_for(to=user.email, subject="Deposit credited: 0.5 BTC")
    balances = requests.get(f"{live.url}/api/wallet/balances", headers=headers, timeout=10).json()
    assert {"asset": "BTC", "available": "0.50000000", "locked": "0.00000000"} in balances


@pytest.mark.browser
def test_in_a_browser_request_email_confirm_and_completed_on_the_withdrawal_page(live: Live, page: Any) -> None:
    from playwright.sync_api import expect

    # Given a verified user with 2,000 USDT, signed in
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e6"), review_threshold=Decimal("1e6"))
    usdt = make_asset("USDT")
    user = verified_user(level=1)
    fund(user.pk, usdt, "2000")
    page.goto(live.url + "/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # When they ask to withdraw 500 USDT
    page.goto(live.url + "/wallet/withdraw")
    page.get_by_role("combobox", name="Asset").select_option("USDT")
    page.get_by_label("Amount").fill("500")
    page.get_by_label("Destination address").fill("0xrecipient000000000000000000000000000002")
    page.get_by_role("button", name="Withdraw").click()

    # Then the withdrawal's page says the email is on its way, then (without a reload) that it was sent
    expect(page.get_by_test_id("withdrawal-status")).to_have_text("Awaiting confirmation")
    expect(page.get_by_test_id("confirmation-email")).to_contain_text(f"Sent to {user.email} at", timeout=30_000)
    screenshot(page, "withdrawal-awaiting-confirmation")

    # When they follow the emailed link and confirm
    message = live.mailbox.wait_for(to=user.email, subject="Confirm your withdrawal of 500 USDT")
    link = re.search(r"http://\S+/confirm\?token=[\w-]+", body(message))
    assert link, body(message)
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm and send").click()

    # Then the withdrawal page follows it to completed, with its transaction
    expect(page.get_by_test_id("withdrawal-status")).to_have_text("Completed", timeout=30_000)
    expect(page.get_by_test_id("withdrawal-txid")).not_to_be_empty()
    screenshot(page, "withdrawal-completed")
