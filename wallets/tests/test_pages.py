"""Wallet pages: balances, simulated deposit, withdraw with 2FA and the email link, history, cancel."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from conftest import totp_code
from kyc.models import LevelLimit
from wallets import ledger
from wallets.models import Withdrawal, WithdrawalStatus
from wallets.tasks import scan_deposits
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def btc():
    return make_asset("BTC")


def test_pages_need_login(client):
    for path in ("/wallet", "/wallet/deposit", "/wallet/withdraw", "/wallet/history"):
        assert client.get(path)["Location"].startswith("/login?next=")


def test_balances_page(client, btc):
    user = UserFactory()
    fund(user.pk, btc, "1.25")
    client.force_login(user)
    page = client.get("/wallet").content.decode()
    assert "1.25000000" in page


def test_simulated_deposit_from_the_page(client, btc):
    user = UserFactory()
    client.force_login(user)
    page = client.get("/wallet/deposit?asset=BTC").content.decode()
    assert "simbtc1" in page
    response = client.post("/wallet/deposit?asset=BTC", {"asset": "BTC", "amount": "0.3"})
    assert response.status_code == 302
    assert "0 of 2 confirmations" in client.get("/wallet/deposit?asset=BTC").content.decode()
    scan_deposits()
    scan_deposits()
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == Decimal("0.3")


def test_a_bad_deposit_amount_shows_an_error(client, btc):
    client.force_login(UserFactory())
    response = client.post("/wallet/deposit", {"asset": "BTC", "amount": "-1"})
    assert "Must be greater than zero." in response.content.decode()


def test_withdraw_with_2fa_confirm_by_link_and_see_history(
    client, btc, two_factor_user, django_capture_on_commit_callbacks
):
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e6"), review_threshold=Decimal("1e6"))
    type(two_factor_user).objects.filter(pk=two_factor_user.pk).update(kyc_level=1)
    fund(two_factor_user.pk, btc, "1")
    client.force_login(two_factor_user)
    form = {"asset": "BTC", "amount": "0.4", "address": "bc1qpagewithdrawal0000000000000"}
    response = client.post("/wallet/withdraw", form)
    assert "A current code from your authenticator app is required" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/wallet/withdraw", {**form, "otp": totp_code(two_factor_user.totp_device, 1)})
    assert re.fullmatch(r"/wallet/withdrawals/\d+", response["Location"])
    link = re.search(r"/wallet/withdrawals/\d+/confirm\?token=[\w-]+", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    path = link.group(0)
    assert "Confirm and send" in client.get(path).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path.split("?")[0], {"token": path.split("token=")[1]})
    assert Withdrawal.objects.get().status == WithdrawalStatus.COMPLETED
    history = client.get("/wallet/history").content.decode()
    assert "Completed" in history
    assert "Credited" in history


def test_cancel_from_the_history(client, btc):
    from kyc.tests.factories import verified_user

    user = verified_user(level=1)
    fund(user.pk, btc, "1")
    client.force_login(user)
    client.post("/wallet/withdraw", {"asset": "BTC", "amount": "0.1", "address": "bc1qcancelme000000000000000"})
    withdrawal = Withdrawal.objects.get()
    assert f"/wallet/withdrawals/{withdrawal.pk}/cancel" in client.get("/wallet/history").content.decode()
    client.post(f"/wallet/withdrawals/{withdrawal.pk}/cancel")
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.CANCELLED
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == Decimal("1")


def test_submitting_the_withdraw_form_twice_makes_one_withdrawal(client, btc):
    from kyc.tests.factories import verified_user

    user = verified_user(level=1)
    fund(user.pk, btc, "1")
    client.force_login(user)
    page = client.get("/wallet/withdraw")
    client_id = page.context["form"].initial["client_id"]
    form = {"asset": "BTC", "amount": "0.1", "address": "bc1qdoubleclick00000000000000", "client_id": client_id}
    assert client.post("/wallet/withdraw", form).status_code == 302
    again = client.post("/wallet/withdraw", form)
    assert "This withdrawal was submitted already" in again.content.decode()
    assert Withdrawal.objects.count() == 1
