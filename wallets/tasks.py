"""Wallet background jobs: deposit scanning and crediting, notifications. They take ids; reruns are safe."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from accounts.services import notify_user
from wallets import services
from wallets.models import Asset, Deposit
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
            except Exception:  # one bad deposit must not stop the others
                logger.exception("crediting deposit %s failed", deposit_id)
    return credited


@shared_task
def notify_deposit_credited(deposit_id: int) -> None:
    deposit = Deposit.objects.select_related("asset").get(pk=deposit_id)
    notify_user(
        user_id=deposit.user_id,
        title=f"Deposit credited: {deposit.amount.normalize():f} {deposit.asset.code}",
        body=f"{deposit.amount.normalize():f} {deposit.asset.code} arrived (transaction {deposit.txid}).",
        link="/wallet",
    )
