"""Wallet background jobs: deposit scanning and crediting, notifications. They take ids; reruns are safe."""

from __future__ import annotations

import logging
from smtplib import SMTPException

from celery import shared_task
from django.conf import settings

from accounts.services import notify_user
from wallets import notifications, services
from wallets.models import Asset, Deposit, Withdrawal, WithdrawalStatus
from wallets.networks import SimulatedNetwork, adapter_for

logger = logging.getLogger(__name__)


@shared_task
def scan_deposits() -> int:
    """Record what reached our deposit addresses and credit what is confirmed; return how many credited."""
    credited = 0
    for asset in Asset.objects.filter(deposit_enabled=True):
        network = adapter_for(asset)
        if isinstance(network, SimulatedNetwork) and settings.SIMULATED_MINING:
            network.mine(asset=asset)  # the simulated chain moves on as time passes
        for deposit_id in services.record_seen_deposits(asset=asset):
            try:
                credited += services.credit_deposit(deposit_id=deposit_id)
            except Exception as error:  # one bad deposit must not stop the others, nor be tried forever
                logger.exception("crediting deposit %s failed: held for treasury", deposit_id)
                try:
                    services.hold_deposit(deposit_id=deposit_id, reason=services.failure_text(error))
                except Exception:  # the database itself is failing: the next scan tries both again
                    logger.exception("holding deposit %s failed too", deposit_id)
    return credited


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
    """Email the link that confirms a withdrawal (the token exists only in this email); return if sent.

    A link replaced by a newer one (the user asked again) is not sent. The mail server away is retried
    with a growing delay; until the email is handed over, the withdrawal's page says it is on its way.
    """
    from django.core.mail import send_mail

    from wallets.withdrawals import confirmation_is_current, confirmation_link, mark_confirmation_sent

    if not confirmation_is_current(withdrawal_id=withdrawal_id, token=token):
        return False
    withdrawal = Withdrawal.objects.select_related("user", "asset").get(pk=withdrawal_id)
    email = notifications.withdrawal_confirmation(withdrawal, link=confirmation_link(withdrawal.pk, token))
    send_mail(subject=email.subject, message=email.body, from_email=None, recipient_list=[withdrawal.user.email])
    return mark_confirmation_sent(withdrawal_id=withdrawal_id, token=token)


@shared_task
def process_withdrawal_task(withdrawal_id: int) -> str:
    from wallets.withdrawals import process_withdrawal

    return process_withdrawal(withdrawal_id=withdrawal_id).status


@shared_task
def retry_waiting_withdrawals() -> int:
    """Try again the withdrawals that wait for the hot wallet (after a refill, say)."""
    from wallets.withdrawals import process_withdrawal

    waiting = Withdrawal.objects.filter(status=WithdrawalStatus.WAITING_HOT_WALLET).order_by("pk")
    return sum(
        process_withdrawal(withdrawal_id=pk).status != WithdrawalStatus.WAITING_HOT_WALLET
        for pk in waiting.values_list("pk", flat=True)
    )


@shared_task
def notify_withdrawal_status(withdrawal_id: int, status: str) -> None:
    """Tell the user a withdrawal reached `status` (completed, rejected, waiting for the hot wallet ...)."""
    withdrawal = Withdrawal.objects.select_related("asset").get(pk=withdrawal_id)
    notify_user(notifications.withdrawal_status(withdrawal, status))


@shared_task
def rebalance_hot_wallets() -> int:
    """Settle confirmed hot/cold transfers, then sweep or request refills; return how many settled."""
    from wallets import treasury
    from wallets.models import ColdWalletTransfer, ColdWalletTransferStatus

    settled = 0
    for pk in ColdWalletTransfer.objects.filter(status=ColdWalletTransferStatus.IN_TRANSIT).values_list(
        "pk", flat=True
    ):
        settled += treasury.settle_transfer(transfer_id=pk)
    for asset in Asset.objects.all():
        try:
            treasury.rebalance(asset=asset)
        except Exception:  # one asset's trouble must not stop the others
            logger.exception("rebalancing %s failed", asset.code)
    return settled


@shared_task
def audit_ledger() -> bool:
    """Check the ledger's invariants (beat, hourly) for the operations dashboard; log an error when broken."""
    from wallets.audit import run_audit
    from wallets.audit_runs import record_audit

    result = run_audit()
    record_audit(result, source="beat: hourly audit")
    if not result.ok:
        logger.error("ledger audit: %d problem(s): %s", len(result.problems), "; ".join(result.problems[:5]))
    return result.ok
