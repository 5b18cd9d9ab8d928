"""What users are told about deposits and withdrawals: worded from the record, every digit of the amount kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wallets import notifications
from wallets.models import Asset, Deposit, DepositStatus, Withdrawal, WithdrawalStatus

# About 10^20 with 18 decimals: 39 digits, beyond the 28 that the default decimal context keeps.
HUGE = Decimal("123456789012345678901.123456789012345678")
HUGE_TEXT = "123456789012345678901.123456789012345678"


def deposit(amount: Decimal, status: str = DepositStatus.CREDITED, hold_reason: str = "") -> Deposit:
    btc = Asset(code="BTC", decimals=8)
    return Deposit(user_id=5, asset=btc, amount=amount, txid="tx-1", status=status, hold_reason=hold_reason)


def withdrawal(amount: Decimal, fee: Decimal = Decimal("0.0005"), **fields: object) -> Withdrawal:
    btc = Asset(code="BTC", decimals=8)
    return Withdrawal(user_id=5, asset=btc, amount=amount, fee=fee, address="simbtc1dest", **fields)


def test_a_credited_deposit_of_about_ten_to_the_twentieth_is_written_to_the_last_digit():
    # Given a deposit of a 39-digit amount (larger than any stored one: the wording must not care)
    # When its notice is worded
    notice = notifications.deposit_credited(deposit(HUGE))
    # Then title and body carry every digit, in fixed point, rounded nowhere
    assert notice.title == f"Deposit credited: {HUGE_TEXT} BTC"
    assert notice.body == f"{HUGE_TEXT} BTC arrived (transaction tx-1)."
    assert (notice.user_id, notice.link) == (5, "/wallet")


def test_a_withdrawal_confirmation_of_a_huge_amount_states_amount_and_net_exactly(settings):
    # Given a site name, and a withdrawal of a 39-digit amount with a fee
    settings.SITE_NAME = "Exch"
    # When its confirmation email is worded
    email = notifications.withdrawal_confirmation(withdrawal(HUGE), link="https://exch.example/confirm?token=t")
    # Then the subject and body carry the amount and what arrives after the fee, to the last digit
    assert email.subject == f"[Exch] Confirm your withdrawal of {HUGE_TEXT} BTC"
    assert f"withdraw {HUGE_TEXT} BTC to simbtc1dest" in email.body
    assert "(you receive 123456789012345678901.122956789012345678 after the fee)" in email.body
    assert "Confirm it: https://exch.example/confirm?token=t" in email.body


def test_amounts_are_written_without_trailing_zeros_or_exponent():
    # Given amounts stored at 18 places, one of them a whole ten
    # When their notices are worded, then they read as a person writes them
    assert notifications.deposit_credited(deposit(Decimal("0.500000000000000000"))).title == "Deposit credited: 0.5 BTC"
    assert notifications.deposit_credited(deposit(Decimal("10.000000000000000000"))).title == "Deposit credited: 10 BTC"


@pytest.mark.parametrize(
    ("status", "title", "body"),
    [
        (DepositStatus.HELD, "Deposit of 0.25 BTC: held for review", "It arrived (transaction tx-1) but could not"),
        (DepositStatus.REJECTED, "Deposit of 0.25 BTC: rejected", "Reason: Returned to sender."),
    ],
)
def test_a_held_deposit_says_whether_it_is_under_review_or_rejected_and_why(status, title, body):
    # Given a deposit held by the scan, or then rejected by treasury with a reason
    held = deposit(Decimal("0.25"), status=status, hold_reason="Returned to sender.")
    # When its notice is worded
    notice = notifications.deposit_held(held)
    # Then it says which, and links to the deposit page
    assert (notice.title, notice.link) == (title, "/wallet/deposit")
    assert notice.body.startswith(body)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (WithdrawalStatus.COMPLETED, "Sent to simbtc1dest (transaction tx-9)."),
        (WithdrawalStatus.REJECTED, "Reason: Unusual pattern. The funds are back in your balance."),
        (WithdrawalStatus.CANCELLED, "The funds are back in your balance."),
        (WithdrawalStatus.FAILED, "It could not be sent; the funds are back in your balance."),
        (WithdrawalStatus.WAITING_HOT_WALLET, "It is approved and goes out as soon as the hot wallet is refilled."),
        (WithdrawalStatus.PROCESSING, ""),
    ],
)
def test_a_withdrawal_status_notice_words_the_status_it_reached(status, body):
    # Given a withdrawal now completed, told about a status it reached on the way
    record = withdrawal(Decimal("1.5"), txid="tx-9", failure_reason="Unusual pattern", status="completed")
    # When the notice of that status is worded
    notice = notifications.withdrawal_status(record, status)
    # Then title and body are those of the status reached, not of the one it has now
    assert notice.title == f"Withdrawal of 1.5 BTC: {WithdrawalStatus(status).label.lower()}"
    assert notice.body == body
