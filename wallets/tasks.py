"""Wallet background jobs: deposit scanning and crediting, withdrawals, treasury, notifications.

Each takes ids, loads what it needs and calls one function of the services (or words a notice and
hands it to notify_user); reruns are safe.
"""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from accounts.services import notify_user
from wallets import audit_runs, notifications, services, treasury, withdrawals
from wallets.models import Deposit, Withdrawal


@shared_task
def scan_deposits() -> int:
    """Record what reached our deposit addresses and credit what is confirmed; return how many credited."""
    return services.scan_deposits()


@shared_task
def notify_deposit_credited(deposit_id: int) -> None:
    """Tell the user a deposit is credited."""
    notify_user(notifications.deposit_credited(Deposit.objects.select_related("asset").get(pk=deposit_id)))


@shared_task
def notify_deposit_held(deposit_id: int) -> None:
    """Tell the user a deposit is held for review (crediting failed), or was rejected, and why."""
    notify_user(notifications.deposit_held(Deposit.objects.select_related("asset").get(pk=deposit_id)))


@shared_task(autoretry_for=(OSError, SMTPException), retry_backoff=True, retry_backoff_max=300, max_retries=8)
def send_withdrawal_confirmation(withdrawal_id: int, token: str) -> bool:
    """Email the link that confirms a withdrawal; return if sent (a mail server away is retried, growing slower)."""
    return withdrawals.send_confirmation(withdrawal_id=withdrawal_id, token=token)


@shared_task
def process_withdrawal_task(withdrawal_id: int) -> str:
    """Pay out an approved withdrawal (or let it wait for the hot wallet); return its status."""
    return withdrawals.process_withdrawal(withdrawal_id=withdrawal_id).status


@shared_task
def retry_waiting_withdrawals() -> int:
    """Try again the withdrawals that wait for the hot wallet (after a refill, say)."""
    return withdrawals.retry_waiting()


@shared_task
def notify_withdrawal_status(withdrawal_id: int, status: str) -> None:
    """Tell the user a withdrawal reached `status` (completed, rejected, waiting for the hot wallet ...)."""
    notify_user(
        notifications.withdrawal_status(Withdrawal.objects.select_related("asset").get(pk=withdrawal_id), status)
    )


@shared_task
def rebalance_hot_wallets() -> int:
    """Settle confirmed hot/cold transfers, then sweep or request refills; return how many settled."""
    return treasury.rebalance_all()


@shared_task
def audit_ledger() -> bool:
    """Check the ledger's invariants (beat, hourly) for the operations dashboard; log an error when broken."""
    return audit_runs.scheduled_audit(source="beat: hourly audit")
