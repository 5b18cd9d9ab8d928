"""Held deposits decided by several treasurers at once: credited once at most, every decision audited."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import UserFactory
from conftest import race
from exchange.core.errors import Conflict
from kyc.tests.factories import staff_user
from wallets import ledger, services
from wallets.audit import run_audit
from wallets.models import Deposit, DepositStatus
from wallets.networks import SimulatedNetwork
from wallets.tests.factories import make_asset

pytestmark = pytest.mark.django_db(transaction=True)


def test_treasurers_retrying_and_rejecting_one_held_deposit_at_once_decide_it_once():
    # Given a held deposit
    btc = make_asset("BTC")
    user = UserFactory()
    deposit = services.simulate_incoming_deposit(user_id=user.pk, asset=btc, amount=Decimal("0.25"))
    for _ in range(btc.confirmations_required):
        SimulatedNetwork().mine(asset=btc)
    services.record_seen_deposits(asset=btc)
    assert services.hold_deposit(deposit_id=deposit.pk, reason="OperationalError: the database went away")
    treasurers = iter([staff_user("Treasury") for _ in range(6)])
    turn = iter(range(6))

    def decide() -> object:
        staff, index = next(treasurers), next(turn)
        if index % 2:
            return services.reject_held_deposit(staff=staff, deposit_id=deposit.pk, reason="Returned.")
        return services.retry_held_deposit(staff=staff, deposit_id=deposit.pk)

    # When six treasurers retry or reject it at the same instant
    results = race(decide, threads=6)
    # Then one decision wins, the others are refused, and the books say the same as the deposit
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 5, results
    deposit.refresh_from_db()
    decided = AuditEvent.objects.filter(action__in=[AuditAction.DEPOSIT_RETRIED, AuditAction.DEPOSIT_REJECTED])
    assert decided.count() == 1
    balance = ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance
    if deposit.status == DepositStatus.CREDITED:
        assert (decided.get().action, balance) == (AuditAction.DEPOSIT_RETRIED, Decimal("0.25"))
    else:
        assert (deposit.status, decided.get().action, balance) == (
            DepositStatus.REJECTED,
            AuditAction.DEPOSIT_REJECTED,
            0,
        )
    assert Deposit.objects.filter(status=DepositStatus.CONFIRMING).count() == 0
    assert run_audit().ok
