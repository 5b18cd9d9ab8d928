"""The compliance policy: each answer comes from the level's row in the admin's table, and follows its edits.

Trading's and wallets' own tests flip the same switches through the API and the pages
(trading/tests/test_kyc_policy.py, wallets/tests/test_kyc_policy.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from kyc import policy
from kyc.models import AmlFlag, FlagSeverity, FlagStatus, LevelLimit
from kyc.policy import Activity, KycRequired, WithdrawalLimits

pytestmark = pytest.mark.django_db


def test_the_seeded_table_lets_level_0_deposit_and_level_1_trade_and_withdraw():
    # Given the three levels as migration 0002 seeds them
    registered, verified, plus = (UserFactory(kyc_level=level) for level in (0, 1, 2))

    # Then level 0 may deposit only; levels 1 and 2 may also trade and withdraw, up to their limits
    assert [policy.can_deposit(u) for u in (registered, verified, plus)] == [True, True, True]
    assert [policy.can_trade(u) for u in (registered, verified, plus)] == [False, True, True]
    with pytest.raises(KycRequired):
        policy.withdrawal_limits(registered)
    assert policy.withdrawal_limits(verified) == WithdrawalLimits(Decimal("10000"), Decimal("5000"))
    assert policy.withdrawal_limits(plus) == WithdrawalLimits(Decimal("250000"), Decimal("50000"))


def test_a_refusal_names_the_next_level_that_allows_it():
    # Given a registered user
    user = UserFactory(kyc_level=0)

    # When they may not trade
    error = policy.refusal(user, Activity.TRADE)

    # Then the error says which level would allow it, in the API's terms
    assert error is not None
    assert (error.code, error.status_code) == ("kyc_required", 403)
    assert error.details == {"required_level": 1, "kyc_level": 0}
    assert error.message.startswith("Trading needs a verified account (level 1)")
    assert policy.refusal(user, Activity.DEPOSIT) is None


def test_a_refusal_skips_levels_whose_switch_is_off_and_says_when_none_allows_it():
    # Given trading switched off for level 1
    LevelLimit.objects.filter(level=1).update(can_trade=False)

    # Then a registered user is sent to level 2
    assert policy.refusal(UserFactory(kyc_level=0), Activity.TRADE).details["required_level"] == 2  # type: ignore[union-attr]

    # And with level 2 switched off too, no level allows it, and the message does not send anyone to verify
    LevelLimit.objects.filter(level=2).update(can_trade=False)
    error = policy.refusal(UserFactory(kyc_level=1), Activity.TRADE)
    assert error is not None
    assert error.details == {"required_level": None, "kyc_level": 1}
    assert error.message == "Trading is not open to accounts at level 1."


@pytest.mark.parametrize(
    ("switch", "question"),
    [
        ("can_deposit", policy.can_deposit),
        ("can_trade", policy.can_trade),
        ("can_withdraw", lambda user: policy.refusal(user, Activity.WITHDRAW) is None),
    ],
)
def test_each_switch_is_read_at_once(switch, question):
    # Given a verified user and the switch off for their level
    user = UserFactory(kyc_level=1)
    LevelLimit.objects.filter(level=1).update(**{switch: False})

    # Then the policy refuses
    assert question(user) is False

    # When compliance switches it on again, then the policy allows it from the next question on
    LevelLimit.objects.filter(level=1).update(**{switch: True})
    assert question(user) is True


def test_a_level_without_its_row_allows_nothing():
    # Given compliance deleted level 1's row
    LevelLimit.objects.filter(level=1).delete()
    user = UserFactory(kyc_level=1)

    # Then that level is closed, not opened: nothing is allowed, and level 2 is what would allow it
    assert (policy.can_deposit(user), policy.can_trade(user)) == (False, False)
    with pytest.raises(KycRequired) as refused:
        policy.withdrawal_limits(user)
    assert refused.value.details == {"required_level": 2, "kyc_level": 1}


def test_the_limits_follow_the_table():
    # Given compliance raised level 1's limits
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("20000"), review_threshold=Decimal("7500"))

    # Then the policy answers with the new ones
    assert policy.withdrawal_limits(UserFactory(kyc_level=1)) == WithdrawalLimits(Decimal("20000"), Decimal("7500"))


class TestReviewReason:
    def test_up_to_the_threshold_needs_no_review_and_above_it_does(self):
        user = UserFactory(kyc_level=1)  # review above 5,000 USDT
        assert policy.review_reason(user=user, value_usdt=Decimal("5000.00")) == ""
        reason = policy.review_reason(user=user, value_usdt=Decimal("5000.01"))
        assert reason == "worth 5000.01 USDT, above the review threshold of 5000.00 USDT"

    def test_open_aml_flags_send_any_amount_to_review(self):
        # Given a user with an open AML flag
        user = UserFactory(kyc_level=1)
        AmlFlag.objects.create(user=user, rule="r", severity=FlagSeverity.HIGH, summary="s", fingerprint="f")

        # Then even a small withdrawal waits for staff, until compliance clears the flag
        assert policy.review_reason(user=user, value_usdt=Decimal("1")) == "the account has open AML flags"
        AmlFlag.objects.update(status=FlagStatus.CLEARED)
        assert policy.review_reason(user=user, value_usdt=Decimal("1")) == ""

    def test_a_level_whose_withdrawals_were_switched_off_meanwhile_goes_to_review(self):
        # Given a verified user whose level compliance closed to withdrawals after they asked for one
        user = UserFactory(kyc_level=1)
        LevelLimit.objects.filter(level=1).update(can_withdraw=False)

        # Then confirming it sends it to staff, not to the payout
        assert (
            policy.review_reason(user=user, value_usdt=Decimal("1")) == "withdrawals are not open to level 1 any more"
        )
