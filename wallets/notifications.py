"""What users are told about their deposits and withdrawals, word for word (see accounts.notifications).

Amounts are written in full (`trimmed`, in the money context): a stored amount has up to 36 digits,
which `Decimal.normalize()` in the default context would round to 28.
"""

from __future__ import annotations

from accounts.notifications import Email, Notice, subject
from exchange.core.money import trimmed
from wallets.models import Deposit, DepositStatus, Withdrawal, WithdrawalStatus


def deposit_credited(deposit: Deposit) -> Notice:
    """Return the notice of a deposit credited to the user's balance."""
    amount = f"{trimmed(deposit.amount)} {deposit.asset.code}"
    return Notice(
        user_id=deposit.user_id,
        title=f"Deposit credited: {amount}",
        body=f"{amount} arrived (transaction {deposit.txid}).",
        link="/wallet",
    )


def deposit_held(deposit: Deposit) -> Notice:
    """Return the notice of a deposit held for review (crediting failed), or rejected by treasury, and why."""
    amount = f"{trimmed(deposit.amount)} {deposit.asset.code}"
    if deposit.status == DepositStatus.REJECTED:
        title, body = f"Deposit of {amount}: rejected", f"Reason: {deposit.hold_reason}"
    else:
        title = f"Deposit of {amount}: held for review"
        body = (
            f"It arrived (transaction {deposit.txid}) but could not be credited automatically; our treasury team "
            "is looking at it. Nothing is lost: you are told as soon as it is decided."
        )
    return Notice(user_id=deposit.user_id, title=title, body=body, link="/wallet/deposit")


def withdrawal_confirmation(withdrawal: Withdrawal, *, link: str) -> Email:
    """Return the email that asks the user to confirm a withdrawal by following `link`."""
    return Email(
        subject=subject(f"Confirm your withdrawal of {trimmed(withdrawal.amount)} {withdrawal.asset.code}"),
        body=(
            f"You asked to withdraw {trimmed(withdrawal.amount)} {withdrawal.asset.code} to "
            f"{withdrawal.address} (you receive {trimmed(withdrawal.net_amount)} after the fee).\n\n"
            f"Confirm it: {link}\n\n"
            "If this was not you, do not click: cancel it in your wallet and change your password."
        ),
    )


def withdrawal_status(withdrawal: Withdrawal, status: str) -> Notice:
    """Return the notice of a withdrawal reaching `status` (the status it reached then, not the one it has now)."""
    reached = WithdrawalStatus(status)
    body = {
        WithdrawalStatus.COMPLETED: f"Sent to {withdrawal.address} (transaction {withdrawal.txid}).",
        WithdrawalStatus.REJECTED: f"Reason: {withdrawal.failure_reason}. The funds are back in your balance.",
        WithdrawalStatus.CANCELLED: "The funds are back in your balance.",
        WithdrawalStatus.FAILED: "It could not be sent; the funds are back in your balance.",
        WithdrawalStatus.WAITING_HOT_WALLET: "It is approved and goes out as soon as the hot wallet is refilled.",
    }.get(reached, "")
    return Notice(
        user_id=withdrawal.user_id,
        title=f"Withdrawal of {trimmed(withdrawal.amount)} {withdrawal.asset.code}: {reached.label.lower()}",
        body=body,
        link="/wallet",
    )
