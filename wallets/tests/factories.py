"""Assets and funded users for wallet tests: money arrives the way it really does, by deposit."""

from __future__ import annotations

from decimal import Decimal

from wallets import services
from wallets.models import Asset, Deposit

ASSETS = {
    "BTC": {"name": "Bitcoin", "decimals": 8, "confirmations_required": 2, "withdrawal_fee": Decimal("0.0001"),
            "min_withdrawal": Decimal("0.001"), "reference_price_usdt": Decimal("60000")},
    "ETH": {"name": "Ether", "decimals": 18, "confirmations_required": 3, "withdrawal_fee": Decimal("0.002"),
            "min_withdrawal": Decimal("0.01"), "reference_price_usdt": Decimal("3000")},
    "USDT": {"name": "Tether USD", "decimals": 6, "confirmations_required": 1, "withdrawal_fee": Decimal("1"),
             "min_withdrawal": Decimal("10"), "reference_price_usdt": Decimal("1")},
}  # fmt: skip


def make_asset(code: str = "BTC", **overrides: object) -> Asset:
    asset, _ = Asset.objects.get_or_create(code=code, defaults={**ASSETS[code], **overrides})
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
