"""Money under concurrency, with real threads and a barrier against real PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from conftest import race
from kyc.models import LevelLimit
from kyc.tests.factories import verified_user
from wallets import ledger, services, withdrawals
from wallets.audit import run_audit
from wallets.lock_objects import lock_accounts
from wallets.models import AccountKind, Withdrawal
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_withdrawals_of_the_full_balance_at_most_one_succeeds():
    btc = make_asset("BTC")
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e9"), review_threshold=Decimal("1e9"))
    user = verified_user(level=1)
    fund(user.pk, btc, "0.75")

    results = race(
        lambda: withdrawals.request_withdrawal(
            user=user, asset=btc, amount="0.75", address="bc1qracetarget000000000000000000", otp=None
        ),
        threads=50,
    )
    succeeded = [r for r in results if isinstance(r, Withdrawal)]
    refused = [r for r in results if isinstance(r, services.InsufficientFunds)]
    assert len(succeeded) == 1, [type(r).__name__ for r in results]
    assert len(refused) == 49
    available, locked = ledger.user_accounts(user_id=user.pk, asset=btc)
    assert (available.balance, locked.balance) == (0, Decimal("0.75"))
    assert Withdrawal.objects.count() == 1
    assert run_audit().ok


def test_concurrent_treasury_movements_never_overdraw_the_hot_wallet():
    btc = make_asset("BTC")
    fund(verified_user(level=1).pk, btc, "1")
    hot = ledger.account(asset=btc, kind=AccountKind.HOT_WALLET)
    cold = ledger.account(asset=btc, kind=AccountKind.COLD_WALLET)
    counter = iter(range(100))

    def sweep() -> bool:
        key = f"sweep:{next(counter)}"
        with transaction.atomic():
            current = lock_accounts(account_ids=[hot.pk])[hot.pk].balance
            if current < Decimal("0.3"):
                return False
            ledger.post_entry(kind="sweep", idempotency_key=key, legs=ledger.move(hot, cold, Decimal("0.3")))
            return True

    results = race(sweep, threads=8)
    assert results.count(True) == 3, results
    hot.refresh_from_db()
    assert hot.balance == Decimal("0.1")
    assert run_audit().ok
