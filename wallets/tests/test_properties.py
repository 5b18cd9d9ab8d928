"""Property test: random sequences of money movements keep every ledger invariant.

Hypothesis draws sequences of deposits, holds, releases, transfers and withdrawals (completed or
cancelled) among three users; after each step the balances match a plain model, and at the end
audit_ledger finds nothing wrong.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from kyc.models import LevelLimit
from wallets import ledger, services, withdrawals
from wallets.audit import run_audit
from wallets.models import Asset
from wallets.tests.factories import fund

pytestmark = pytest.mark.django_db

USERS = 3
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5"), places=3)
user_index = st.integers(0, USERS - 1)
operations = st.one_of(
    st.tuples(st.just("deposit"), user_index, amounts),
    st.tuples(st.just("hold"), user_index, amounts),
    st.tuples(st.just("release"), user_index, amounts),
    st.tuples(st.just("transfer"), user_index, user_index, amounts),
    st.tuples(st.just("withdraw_and_complete"), user_index, amounts),
    st.tuples(st.just("withdraw_and_cancel"), user_index, amounts),
)
serial = itertools.count()


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operations, min_size=1, max_size=20))
def test_random_money_movements_keep_every_invariant(ops, settings):
    settings.WITHDRAWAL_EMAIL_CONFIRMATION = False
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e12"), review_threshold=Decimal("1e12"))
    # A fresh asset and fresh users per example: examples share one database transaction.
    asset = Asset.objects.create(
        code=f"P{next(serial)}", name="Property", decimals=8, confirmations_required=1,
        withdrawal_fee=Decimal("0.0001"), min_withdrawal=Decimal("0.001"), reference_price_usdt=Decimal("1"),
    )  # fmt: skip
    users = [UserFactory(kyc_level=1) for _ in range(USERS)]
    available = [Decimal("0")] * USERS
    locked = [Decimal("0")] * USERS
    fees = Decimal("0")

    for op in ops:
        kind, who = op[0], op[1]
        user = users[who]
        amount = op[-1]
        if kind == "deposit":
            fund(user.pk, asset, amount)
            available[who] += amount
        elif kind == "hold":
            if amount > available[who]:
                with pytest.raises(services.InsufficientFunds):
                    services.hold(user_id=user.pk, asset=asset, amount=amount, idempotency_key=f"h{next(serial)}")
            else:
                services.hold(user_id=user.pk, asset=asset, amount=amount, idempotency_key=f"h{next(serial)}")
                available[who] -= amount
                locked[who] += amount
        elif kind == "release":
            amount = min(amount, locked[who])
            if amount:
                services.release(user_id=user.pk, asset=asset, amount=amount, idempotency_key=f"r{next(serial)}")
                available[who] += amount
                locked[who] -= amount
        elif kind == "transfer":
            target = op[2]
            if target == who:
                continue
            if amount > available[who]:
                with pytest.raises(services.InsufficientFunds):
                    services.transfer(from_user_id=user.pk, to_user_id=users[target].pk, asset=asset, amount=amount,
                                      idempotency_key=f"t{next(serial)}")  # fmt: skip
            else:
                services.transfer(from_user_id=user.pk, to_user_id=users[target].pk, asset=asset, amount=amount,
                                  idempotency_key=f"t{next(serial)}")  # fmt: skip
                available[who] -= amount
                available[target] += amount
        else:  # a withdrawal, then completed or cancelled
            if amount > available[who] or amount <= asset.withdrawal_fee:
                continue
            withdrawal = withdrawals.request_withdrawal(
                user=user, asset=asset, amount=str(amount), address="simaddress0000000000", otp=None
            )
            if kind == "withdraw_and_complete":
                withdrawals.process_withdrawal(withdrawal_id=withdrawal.pk)
                available[who] -= amount
                fees += asset.withdrawal_fee
            else:
                withdrawals.cancel_withdrawal(user=user, withdrawal_id=withdrawal.pk)

        for i, u in enumerate(users):
            have_available, have_locked = ledger.user_accounts(user_id=u.pk, asset=asset)
            assert (have_available.balance, have_locked.balance) == (available[i], locked[i]), (op, i)

    # Holds made directly (as orders will) are claimed by nothing yet: release them before the audit.
    for i, u in enumerate(users):
        if locked[i]:
            services.release(user_id=u.pk, asset=asset, amount=locked[i], idempotency_key=f"end{next(serial)}")
    result = run_audit()
    assert result.ok, result.problems
    report = next(r for r in result.assets if r.code == asset.code)
    assert report.fee_revenue == fees
    assert report.custody == report.liabilities == sum(available) + sum(locked) + fees
