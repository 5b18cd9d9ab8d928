"""Withdrawals through the API: the happy path, every refusal, and each way a hold ends exactly once."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.test_api_auth import assert_error
from conftest import totp_code
from kyc.models import AmlFlag, LevelLimit
from kyc.tests.factories import staff_user, verified_user
from kyc.tests.test_api import client_for
from wallets import ledger, withdrawals
from wallets.audit import run_audit
from wallets.models import (
    AccountKind,
    JournalEntry,
    WalletSettings,
    Withdrawal,
    WithdrawalAddress,
    WithdrawalStatus,
)
from wallets.tasks import send_withdrawal_confirmation
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db

ADDRESS = "bc1qexampleaddress000000000000000000000"


@pytest.fixture
def btc():
    return make_asset("BTC")


@pytest.fixture
def trader(btc):
    # At 60,000 USDT a bitcoin, the default level-1 limits would stop these tests' amounts.
    LevelLimit.objects.filter(level=1).update(
        daily_withdrawal_limit=Decimal("100000"), review_threshold=Decimal("50000")
    )
    user = verified_user(level=1)
    fund(user.pk, btc, "1")
    return user


def balances(user, asset):
    available, locked = ledger.user_accounts(user_id=user.pk, asset=asset)
    return available.balance, locked.balance


def withdraw(client, amount="0.5", address=ADDRESS, asset="BTC", **extra):
    return client.post("/api/wallet/withdraw", {"asset": asset, "amount": amount, "address": address, **extra},
                       format="json")  # fmt: skip


def confirmation_token() -> str:
    match = re.search(r"token=([\w-]+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_withdraw_confirm_by_email_and_it_is_sent(trader, btc, django_capture_on_commit_callbacks):
    client = client_for(trader)
    with django_capture_on_commit_callbacks(execute=True):
        response = withdraw(client, "0.5")
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["amount"], body["fee"], body["net_amount"]) == (
        "awaiting_confirmation", "0.50000000", "0.00020000", "0.49980000",
    )  # fmt: skip
    assert balances(trader, btc) == (Decimal("0.5"), Decimal("0.5"))
    assert run_audit().ok

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/wallet/withdrawals/{body['id']}/confirm", {"token": confirmation_token()},
                               format="json")  # fmt: skip
    assert response.status_code == 200
    withdrawal = Withdrawal.objects.get(pk=body["id"])
    assert withdrawal.status == WithdrawalStatus.COMPLETED
    assert withdrawal.txid
    assert balances(trader, btc) == (Decimal("0.5"), 0)
    assert ledger.account(asset=btc, kind=AccountKind.HOT_WALLET).balance == Decimal("0.5002")
    assert ledger.account(asset=btc, kind=AccountKind.FEE_REVENUE).balance == Decimal("0.0002")
    assert run_audit().ok
    history = client.get("/api/wallet/transactions").json()
    assert [(t["type"], t["status"]) for t in history["results"]] == [
        ("withdrawal", "completed"),
        ("deposit", "credited"),
    ]


def test_a_wrong_confirmation_token_changes_nothing(trader, django_capture_on_commit_callbacks):
    client = client_for(trader)
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal_id = withdraw(client).json()["id"]
    response = client.post(f"/api/wallet/withdrawals/{withdrawal_id}/confirm", {"token": "guess"}, format="json")
    assert_error(response, 403, "permission_denied")
    assert Withdrawal.objects.get().status == WithdrawalStatus.AWAITING_CONFIRMATION


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "greater than zero"),
        ("-1", "greater than zero"),
        ("abc", "Not a number"),
        ("NaN", "Not a finite number"),
        ("Infinity", "Not a finite number"),
        ("0.000000001", "at most 8 decimals"),
        (0.5, "as a string"),
        ("0.0005", "minimum withdrawal"),
        ("1.5", "Not enough BTC"),
    ],
)
def test_bad_amounts_are_refused_and_change_nothing(trader, btc, amount, message):
    response = withdraw(client_for(trader), amount)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert not Withdrawal.objects.exists()
    assert balances(trader, btc) == (Decimal("1"), 0)


def test_unknown_and_disabled_assets(trader, btc):
    client = client_for(trader)
    assert_error(withdraw(client, asset="DOGE"), 404, "not_found")
    btc.withdraw_enabled = False
    btc.save()
    assert_error(withdraw(client), 400, "asset_unavailable")


def test_a_bad_address_is_refused(trader):
    assert_error(withdraw(client_for(trader), address="not an address!"), 400, "validation_error")


def test_level_0_cannot_withdraw(btc):
    from accounts.tests.factories import UserFactory

    user = UserFactory()
    fund(user.pk, btc, "1")
    assert_error(withdraw(client_for(user)), 403, "kyc_required")


def test_the_daily_limit_counts_the_last_24_hours(trader, btc):
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("40000"), review_threshold=Decimal("1e6"))
    client = client_for(trader)
    assert withdraw(client, "0.5").status_code == 201  # 30,000 USDT
    error = assert_error(withdraw(client, "0.2"), 400, "limit_exceeded")  # another 12,000
    assert error["details"]["left_usdt"] == "10000.00"
    Withdrawal.objects.update(requested_at=timezone.now() - timedelta(hours=25))
    assert withdraw(client, "0.2").status_code == 201


def test_2fa_users_need_a_current_code(btc, two_factor_user):
    two_factor_user.kyc_level = 1
    two_factor_user.save()
    fund(two_factor_user.pk, btc, "1")
    client = client_for(two_factor_user)
    assert_error(withdraw(client, "0.1"), 401, "otp_required")
    assert withdraw(client, "0.1", otp=totp_code(two_factor_user.totp_device, 1)).status_code == 201
    assert_error(withdraw(client, "0.1", otp="000000"), 401, "otp_invalid")
    assert Withdrawal.objects.count() == 1


def test_withdrawals_are_locked_after_a_security_change(trader):
    trader.security_changed_at = timezone.now() - timedelta(hours=2)
    trader.save()
    assert_error(withdraw(client_for(trader)), 403, "withdrawals_locked")


def test_turning_2fa_on_locks_withdrawals_for_24_hours_as_any_2fa_change(trader):
    # Given a trader who turns 2FA on (whoever holds the session could be the one enrolling a device)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = client_for(trader)
    client.post("/api/security/2fa/setup")
    device = TOTPDevice.objects.get(user=trader)
    assert client.post("/api/security/2fa/verify", {"otp": totp_code(device)}, format="json").status_code == 200
    # When they withdraw at once, with a current code, then it is refused until 24 h have passed
    error = assert_error(withdraw(client, otp=totp_code(device, 1)), 403, "withdrawals_locked")
    trader.refresh_from_db()
    assert error["details"]["locked_until"] == (trader.security_changed_at + timedelta(hours=24)).isoformat()
    assert not Withdrawal.objects.exists()
    a_day_ago = timezone.now() - timedelta(hours=24, seconds=1)
    type(trader).objects.filter(pk=trader.pk).update(security_changed_at=a_day_ago)
    assert withdraw(client, otp=totp_code(device, 1)).status_code == 201


def test_whitelist_mode_allows_only_old_enough_address_book_entries(trader, btc):
    client = client_for(trader)
    assert client.post("/api/wallet/address-book", {"asset": "BTC", "address": ADDRESS, "label": "Ledger"},
                       format="json").status_code == 201  # fmt: skip
    assert client.patch("/api/wallet/settings", {"whitelist_only": True}, format="json").json() == {
        "whitelist_only": True
    }
    assert_error(withdraw(client, address="bc1qsomeotheraddress0000000000000"), 403, "address_not_allowed")
    assert_error(withdraw(client), 403, "address_not_allowed")  # added less than 24 h ago
    WithdrawalAddress.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert withdraw(client).status_code == 201
    assert WalletSettings.objects.get(user=trader).whitelist_only


def test_cancelling_returns_the_funds_once(trader, btc, django_capture_on_commit_callbacks):
    client = client_for(trader)
    withdrawal_id = withdraw(client).json()["id"]
    assert client.post(f"/api/wallet/withdrawals/{withdrawal_id}/cancel").json()["status"] == "cancelled"
    assert_error(client.post(f"/api/wallet/withdrawals/{withdrawal_id}/cancel"), 409, "conflict")
    assert balances(trader, btc) == (Decimal("1"), 0)
    assert JournalEntry.objects.filter(idempotency_key=f"withdrawal:{withdrawal_id}:release").count() == 1
    assert run_audit().ok


def test_another_users_withdrawal_is_404(trader):
    withdrawal_id = withdraw(client_for(trader)).json()["id"]
    stranger = client_for(verified_user(level=1))
    assert_error(stranger.get(f"/api/wallet/withdrawals/{withdrawal_id}"), 404, "not_found")
    assert_error(stranger.post(f"/api/wallet/withdrawals/{withdrawal_id}/cancel"), 404, "not_found")


class TestReviewAndPayout:
    def _confirmed(self, user, amount="0.5"):
        """Request a withdrawal and confirm it with the token from the email."""
        withdrawal_id = withdraw(client_for(user), amount).json()["id"]
        token = "t" * 32
        Withdrawal.objects.filter(pk=withdrawal_id).update(confirmation_token_hash=withdrawals._hash(token))
        send_withdrawal_confirmation(withdrawal_id, token)
        return withdrawals.confirm_withdrawal(withdrawal_id=withdrawal_id, token=confirmation_token())

    def test_above_the_threshold_waits_for_review_then_staff_reject_with_refund(self, trader, btc):
        LevelLimit.objects.filter(level=1).update(review_threshold=Decimal("1000"))
        withdrawal = self._confirmed(trader)
        assert withdrawal.status == WithdrawalStatus.PENDING_REVIEW
        assert "above the review threshold" in withdrawal.review_reason
        officer = staff_user("Compliance")
        withdrawals.review_withdrawal(staff=officer, withdrawal_id=withdrawal.pk, approve=False, reason="Unusual.")
        assert balances(trader, btc) == (Decimal("1"), 0)
        assert Withdrawal.objects.get(pk=withdrawal.pk).status == WithdrawalStatus.REJECTED
        assert run_audit().ok

    def test_an_open_aml_flag_sends_it_to_review(self, trader):
        AmlFlag.objects.create(user=trader, rule="r", severity="high", summary="s", fingerprint="f")
        assert self._confirmed(trader, "0.01").status == WithdrawalStatus.PENDING_REVIEW

    def test_a_short_hot_wallet_makes_it_wait_visibly(self, trader, btc, django_capture_on_commit_callbacks):
        # Treasury moved most of the hot wallet to cold: the payout has to wait.
        hot = ledger.account(asset=btc, kind=AccountKind.HOT_WALLET)
        cold = ledger.account(asset=btc, kind=AccountKind.COLD_WALLET)
        from django.db import transaction

        with transaction.atomic():
            ledger.post_entry(kind="sweep", idempotency_key="s", legs=ledger.move(hot, cold, Decimal("0.9")))
        with django_capture_on_commit_callbacks(execute=True):
            withdrawal = self._confirmed(trader, "0.5")
        withdrawal.refresh_from_db()
        assert withdrawal.status == WithdrawalStatus.WAITING_HOT_WALLET
        assert balances(trader, btc) == (Decimal("0.5"), Decimal("0.5"))
        assert run_audit().ok
        with transaction.atomic():
            ledger.post_entry(kind="refill", idempotency_key="r", legs=ledger.move(cold, hot, Decimal("0.9")))
        from wallets.tasks import retry_waiting_withdrawals

        assert retry_waiting_withdrawals() == 1
        assert Withdrawal.objects.get(pk=withdrawal.pk).status == WithdrawalStatus.COMPLETED
        assert run_audit().ok

    def test_a_failed_broadcast_is_refunded_once(self, trader, btc, monkeypatch, django_capture_on_commit_callbacks):
        from wallets.networks import SimulatedNetwork

        def broken_send(self, **kwargs):
            raise ConnectionError("node unreachable")

        monkeypatch.setattr(SimulatedNetwork, "send", broken_send)
        with django_capture_on_commit_callbacks(execute=True):
            withdrawal = self._confirmed(trader, "0.5")
        withdrawal.refresh_from_db()
        assert withdrawal.status == WithdrawalStatus.FAILED
        assert "node unreachable" in withdrawal.failure_reason
        assert balances(trader, btc) == (Decimal("1"), 0)
        assert ledger.account(asset=btc, kind=AccountKind.FEE_REVENUE).balance == 0
        assert run_audit().ok


def test_a_double_submit_is_refused_and_changes_nothing(trader, btc):
    client = client_for(trader)
    first = withdraw(client, "0.2", client_id="form-7f3a")
    assert first.status_code == 201
    error = assert_error(withdraw(client, "0.2", client_id="form-7f3a"), 409, "conflict")
    assert error["details"] == {"code": "duplicate_submit", "withdrawal_id": first.json()["id"]}
    assert Withdrawal.objects.count() == 1
    assert balances(trader, btc) == (Decimal("0.8"), Decimal("0.2"))
    assert withdraw(client, "0.2", client_id="form-8b1c").status_code == 201  # a new form is a new request


def test_the_address_book_refuses_bad_and_duplicate_entries_and_whitelist_off_needs_a_code(two_factor_user, btc):
    client = client_for(two_factor_user)
    assert_error(client.post("/api/wallet/address-book", {"asset": "BTC", "address": "bad address"}, format="json"),
                 400, "validation_error")  # fmt: skip
    entry = {"asset": "BTC", "address": ADDRESS, "label": "cold storage"}
    assert client.post("/api/wallet/address-book", entry, format="json").status_code == 201
    assert_error(client.post("/api/wallet/address-book", entry, format="json"), 409, "conflict")
    assert client.patch("/api/wallet/settings", {"whitelist_only": True}, format="json").status_code == 200
    assert_error(client.patch("/api/wallet/settings", {"whitelist_only": False}, format="json"), 401, "otp_required")
    assert WalletSettings.objects.get(user=two_factor_user).whitelist_only
    code = totp_code(two_factor_user.totp_device, 1)
    response = client.patch("/api/wallet/settings", {"whitelist_only": False, "otp": code}, format="json")
    assert response.json() == {"whitelist_only": False}
    book = client.get("/api/wallet/address-book").json()
    assert [a["label"] for a in book["addresses"]] == ["cold storage"]
    assert client.delete(f"/api/wallet/address-book/{book['addresses'][0]['id']}").status_code == 204
