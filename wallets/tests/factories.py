"""Assets and funded users for wallet tests: money arrives the way it really does, by deposit."""

from __future__ import annotations

from decimal import Decimal

from wallets import services
from wallets.assets import DEFAULT_ASSETS
from wallets.models import Asset, Deposit


def make_asset(code: str = "BTC", **overrides: object) -> Asset:
    asset, _ = Asset.objects.get_or_create(code=code, defaults={**DEFAULT_ASSETS[code], **overrides})
    return asset


def fund(user_id: int, asset: Asset, amount: str | Decimal) -> Deposit:
    """Deposit `amount` for the user on the simulated network and credit it; return the deposit."""
    deposit = services.simulate_incoming_deposit(user_id=user_id, asset=asset, amount=Decimal(amount))
    from wallets.networks import SimulatedNetwork

    for _ in range(asset.confirmations_required):
        SimulatedNetwork().mine(asset=asset)
    services.record_seen_deposits(asset=asset)
    services.credit_deposit(deposit_id=deposit.pk)
    deposit.refresh_from_db()
    return deposit
