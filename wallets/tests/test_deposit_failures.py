"""A deposit that cannot be credited is held for treasury, flagged, told, and never retried blindly."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import AuditAction, AuditEvent, Notification
from accounts.tests.factories import UserFactory
from conftest import errors_logged, signed_in_with_2fa
from exchange.core.errors import Conflict
from kyc import aml
from kyc.models import AmlFlag
from kyc.tests.factories import staff_user
from kyc.tests.test_api import client_for
from wallets import ledger, services
from wallets.audit import run_audit
from wallets.models import Deposit, DepositStatus
from wallets.networks import SimulatedNetwork
from wallets.tasks import scan_deposits
from wallets.tests.factories import make_asset

pytestmark = pytest.mark.django_db

# Near the top of NUMERIC(36,18): crediting one fails (the amount, or the hot wallet's sum, overflows).
HUGE = Decimal("900000000000000000")


@pytest.fixture
def errors():
    with errors_logged("wallets.services") as log:
        yield log


def confirmed_deposit(user, asset, amount):
    deposit = services.simulate_incoming_deposit(user_id=user.pk, asset=asset, amount=Decimal(amount))
    for _ in range(asset.confirmations_required - 1):
        SimulatedNetwork().mine(asset=asset)
    return deposit


def held_deposit(user, asset, amount, reason="OperationalError: the database went away"):
    deposit = confirmed_deposit(user, asset, amount)
    SimulatedNetwork().mine(asset=asset)
    services.record_seen_deposits(asset=asset)
    assert services.hold_deposit(deposit_id=deposit.pk, reason=reason)
    return Deposit.objects.get(pk=deposit.pk)


def test_a_deposit_that_cannot_be_credited_is_held_flagged_and_never_retried(
    errors, django_capture_on_commit_callbacks
):
    # Given two whales' huge deposits and an ordinary one, all confirmed at the next block
    btc = make_asset("BTC")
    whales = [UserFactory(), UserFactory()]
    ordinary = UserFactory()
    huge = [confirmed_deposit(whale, btc, HUGE) for whale in whales]
    small = confirmed_deposit(ordinary, btc, "0.5")
    # When the scan credits what is confirmed
    with django_capture_on_commit_callbacks(execute=True):
        scan_deposits()
    # Then the ordinary one is credited, whatever the others do
    assert Deposit.objects.get(pk=small.pk).status == DepositStatus.CREDITED
    assert ledger.user_accounts(user_id=ordinary.pk, asset=btc)[0].balance == Decimal("0.5")
    # And a huge one that could not be credited is held, with the reason, having moved no money
    held = list(Deposit.objects.filter(pk__in=[d.pk for d in huge], status=DepositStatus.HELD))
    assert held, "crediting near the column's limit failed for neither deposit"
    for deposit in held:
        assert deposit.hold_reason
        assert ledger.user_accounts(user_id=deposit.user_id, asset=btc)[0].balance == 0
        # flagged for compliance and treasury, and the user is told (in the app and by email)
        flag = AmlFlag.objects.get(user_id=deposit.user_id, rule=aml.DEPOSIT_NOT_CREDITED)
        assert f"Deposit #{deposit.pk}" in flag.summary
        assert any("held for review" in m.subject and m.to == [deposit.user.email] for m in mail.outbox)
    assert len(errors.messages) == len(held)  # an ERROR line each, once
    assert run_audit().ok
    # When the scan runs again, and again
    with django_capture_on_commit_callbacks(execute=True):
        scan_deposits()
        scan_deposits()
    # Then nothing retries them blindly: no new error, still held
    assert len(errors.messages) == len(held)
    assert Deposit.objects.filter(status=DepositStatus.HELD).count() == len(held)


def test_treasury_credits_a_held_deposit_once_the_cause_is_fixed(django_capture_on_commit_callbacks):
    btc = make_asset("BTC")
    user = UserFactory()
    deposit = held_deposit(user, btc, "0.25")
    treasurer = staff_user("Treasury")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.retry_held_deposit(staff=treasurer, deposit_id=deposit.pk) is True
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.CREDITED
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == Decimal("0.25")
    assert AuditEvent.objects.filter(action=AuditAction.DEPOSIT_RETRIED, actor=treasurer, user=user).exists()
    with pytest.raises(Conflict):  # once
        services.retry_held_deposit(staff=treasurer, deposit_id=deposit.pk)
    assert run_audit().ok


def test_a_retry_that_fails_again_keeps_it_held_with_the_new_reason():
    btc = make_asset("BTC")
    first, second = UserFactory(), UserFactory()
    # Either the amount alone cannot be credited, or the hot wallet already holds one such: it fails
    treasurer = staff_user("Treasury")
    with contextlib.suppress(Conflict):
        services.retry_held_deposit(staff=treasurer, deposit_id=held_deposit(first, btc, HUGE).pk)
    deposit = held_deposit(second, btc, HUGE, reason="first failure")
    with pytest.raises(Conflict, match="still cannot be credited"):
        services.retry_held_deposit(staff=treasurer, deposit_id=deposit.pk)
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.HELD
    assert deposit.hold_reason != "first failure"
    assert run_audit().ok


def test_nothing_credits_a_held_deposit_but_treasury():
    btc = make_asset("BTC")
    deposit = held_deposit(UserFactory(), btc, "0.25")
    with pytest.raises(Conflict, match="held"):
        services.credit_deposit(deposit_id=deposit.pk)
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.HELD


def test_treasury_rejects_a_held_deposit_and_the_user_reads_why(django_capture_on_commit_callbacks):
    btc = make_asset("BTC")
    user = UserFactory()
    deposit = held_deposit(user, btc, "0.25")
    with pytest.raises(Exception, match="Only treasury"):
        services.reject_held_deposit(staff=staff_user("Compliance"), deposit_id=deposit.pk, reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        services.reject_held_deposit(staff=staff_user("Treasury"), deposit_id=deposit.pk, reason="Returned to sender.")
    deposit.refresh_from_db()
    assert (deposit.status, deposit.hold_reason) == (DepositStatus.REJECTED, "Returned to sender.")
    assert mail.outbox[-1].subject.endswith("Deposit of 0.25 BTC: rejected")
    assert "Returned to sender." in mail.outbox[-1].body
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == 0
    assert run_audit().ok


def test_the_user_sees_a_held_deposit_as_held_not_confirming():
    btc = make_asset("BTC")
    user = UserFactory()
    held_deposit(user, btc, "0.25")
    listed = client_for(user).get("/api/wallet/transactions").json()["results"]
    assert [(row["type"], row["status"]) for row in listed] == [("deposit", "held")]
    from django.test import Client

    page = Client()
    page.force_login(user)
    text = page.get("/wallet/deposit?asset=BTC").content.decode()
    assert "Held for review" in text
    assert "Confirming" not in text


def test_treasury_retries_from_the_admin_after_confirming(client):
    btc = make_asset("BTC")
    user = UserFactory()
    deposit = held_deposit(user, btc, "0.25")
    signed_in_with_2fa(client, staff_user("Treasury"))
    listing = client.get("/admin/wallets/deposit/?status=held").content.decode()
    assert "OperationalError: the database went away" in listing
    action = {"action": "retry_deposits", "_selected_action": [deposit.pk]}
    page = client.post("/admin/wallets/deposit/", action)
    assert "Credit 1 deposit again?" in page.content.decode()
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.HELD  # asked, not done
    client.post("/admin/wallets/deposit/", {**action, "post": "yes"})
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.CREDITED


def test_compliance_cannot_retry_or_reject_deposits_from_the_admin(client):
    btc = make_asset("BTC")
    deposit = held_deposit(UserFactory(), btc, "0.25")
    signed_in_with_2fa(client, staff_user("Compliance"))
    client.post(
        "/admin/wallets/deposit/", {"action": "retry_deposits", "_selected_action": [deposit.pk], "post": "yes"}
    )
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.HELD


def test_a_retry_that_fails_again_is_audited_with_its_outcome_and_the_user_is_not_told_twice(
    django_capture_on_commit_callbacks,
):
    # Given a held deposit that still cannot be credited (the hot wallet already holds a huge one)
    btc = make_asset("BTC")
    first, second = UserFactory(), UserFactory()
    treasurer = staff_user("Treasury")
    with contextlib.suppress(Conflict):
        services.retry_held_deposit(staff=treasurer, deposit_id=held_deposit(first, btc, HUGE).pk)
    with django_capture_on_commit_callbacks(execute=True):
        deposit = held_deposit(second, btc, HUGE, reason="first failure")
    told = Notification.objects.filter(user=second).count()
    # When treasury credits it again and that fails again
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict):
        services.retry_held_deposit(staff=treasurer, deposit_id=deposit.pk)
    # Then the decision's audit row says what came of it, with the new reason
    deposit.refresh_from_db()
    (row,) = AuditEvent.objects.filter(action=AuditAction.DEPOSIT_RETRIED, user=second)
    assert (row.actor, row.details["outcome"], row.details["reason"]) == (treasurer, "held", deposit.hold_reason)
    # And the user, whose deposit is just as it was (held for review), is not told again
    assert Notification.objects.filter(user=second).count() == told
    assert run_audit().ok


def test_a_retry_that_credits_is_audited_as_credited():
    btc = make_asset("BTC")
    user = UserFactory()
    deposit = held_deposit(user, btc, "0.25")
    services.retry_held_deposit(staff=staff_user("Treasury"), deposit_id=deposit.pk)
    (row,) = AuditEvent.objects.filter(action=AuditAction.DEPOSIT_RETRIED, user=user)
    assert row.details == {"deposit": deposit.pk, "outcome": "credited"}


def test_a_deposit_whose_hold_fails_too_does_not_stop_the_scan(monkeypatch, errors):
    # Given a deposit that cannot be credited, and a hold that fails as well (the fault injected)
    btc = make_asset("BTC")
    huge = confirmed_deposit(UserFactory(), btc, HUGE)
    huge_too = confirmed_deposit(UserFactory(), btc, HUGE)  # one of the two cannot be credited
    ordinary = UserFactory()
    small = confirmed_deposit(ordinary, btc, "0.5")

    def hold_fails(*, deposit_id: int, reason: str) -> bool:
        raise RuntimeError("the hold failed too")

    monkeypatch.setattr(services, "hold_deposit", hold_fails)
    # When the scan runs
    scan_deposits()
    # Then the deposits after it are credited all the same, and the failure is logged
    assert Deposit.objects.get(pk=small.pk).status == DepositStatus.CREDITED
    assert ledger.user_accounts(user_id=ordinary.pk, asset=btc)[0].balance == Decimal("0.5")
    assert Deposit.objects.filter(pk__in=[huge.pk, huge_too.pk], status=DepositStatus.CONFIRMING).exists()
    assert any("holding deposit" in message for message in errors.messages)
    assert run_audit().ok


def test_treasury_rejects_from_the_admin_with_the_reason_the_user_reads(client, django_capture_on_commit_callbacks):
    btc = make_asset("BTC")
    user = UserFactory()
    deposit = held_deposit(user, btc, "0.25")
    treasurer = staff_user("Treasury")
    signed_in_with_2fa(client, treasurer)
    action = {"action": "reject_deposits", "_selected_action": [deposit.pk]}
    # Asked without a reason: the confirmation page, nothing done
    page = client.post("/admin/wallets/deposit/", {**action, "post": "yes"}).content.decode()
    assert "Reject 1 deposit?" in page
    assert Deposit.objects.get(pk=deposit.pk).status == DepositStatus.HELD
    # With the reason: rejected, audited, the user told
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/wallets/deposit/", {**action, "post": "yes", "reason": "Sent from a sanctioned address."})
    deposit.refresh_from_db()
    assert (deposit.status, deposit.hold_reason) == (DepositStatus.REJECTED, "Sent from a sanctioned address.")
    (row,) = AuditEvent.objects.filter(action=AuditAction.DEPOSIT_REJECTED, user=user)
    assert (row.actor, row.details["reason"]) == (treasurer, "Sent from a sanctioned address.")
    assert Notification.objects.filter(user=user, title__endswith="rejected").exists()
    rows = client_for(user).get("/api/wallet/transactions").json()["results"]
    assert [(r["type"], r["status"]) for r in rows] == [("deposit", "rejected")]
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == 0
    assert run_audit().ok


def test_the_history_page_says_held_for_review():
    from django.test import Client

    btc = make_asset("BTC")
    user = UserFactory()
    held_deposit(user, btc, "0.25")
    page = Client()
    page.force_login(user)
    text = page.get("/wallet/history").content.decode()
    assert "Held for review" in text
    assert "Confirming" not in text


def test_a_deposit_a_colleague_decided_a_moment_earlier_is_reported_and_the_others_go_on(client, monkeypatch):
    # Given two held deposits, and a colleague who rejects the first between the page and the click
    btc = make_asset("BTC")
    first, second = held_deposit(UserFactory(), btc, "0.25"), held_deposit(UserFactory(), btc, "0.5")
    treasurer, colleague = staff_user("Treasury"), staff_user("Treasury")
    reject = services.reject_held_deposit

    def colleague_first(*, staff, deposit_id, reason):
        if deposit_id == first.pk:
            reject(staff=colleague, deposit_id=first.pk, reason="Returned by my colleague.")
        return reject(staff=staff, deposit_id=deposit_id, reason=reason)

    monkeypatch.setattr(services, "reject_held_deposit", colleague_first)
    signed_in_with_2fa(client, treasurer)
    # When the treasurer confirms rejecting both
    action = {"action": "reject_deposits", "_selected_action": [first.pk, second.pk], "post": "yes", "reason": "No."}
    response = client.post("/admin/wallets/deposit/", action, follow=True)
    # Then the first is reported by its number, the second is rejected, and nothing is a server error
    text = response.content.decode()
    assert response.status_code == 200
    assert f"#{first.pk}: Deposit #{first.pk} is rejected, not held." in text
    assert "1 deposit rejected." in text
    assert Deposit.objects.get(pk=first.pk).hold_reason == "Returned by my colleague."
    assert Deposit.objects.get(pk=second.pk).status == DepositStatus.REJECTED
