"""The assets a fresh exchange lists, created when missing (bootstrap); never changed once there."""

from __future__ import annotations

from decimal import Decimal

from wallets.models import Asset, ColdWallet
from wallets.networks import adapter_for

DEFAULT_ASSETS = {
    "BTC": {"name": "Bitcoin", "decimals": 8, "confirmations_required": 2, "withdrawal_fee": Decimal("0.0002"),
            "min_withdrawal": Decimal("0.001"), "reference_price_usdt": Decimal("60000")},
    "ETH": {"name": "Ether", "decimals": 18, "confirmations_required": 3, "withdrawal_fee": Decimal("0.002"),
            "min_withdrawal": Decimal("0.01"), "reference_price_usdt": Decimal("3000")},
    "USDT": {"name": "Tether USD", "decimals": 6, "confirmations_required": 1, "withdrawal_fee": Decimal("1"),
             "min_withdrawal": Decimal("10"), "reference_price_usdt": Decimal("1")},
}  # fmt: skip


def ensure_assets() -> list[Asset]:
    """Create the default assets and their cold wallets if missing; return them."""
    assets = []
    for code, fields in DEFAULT_ASSETS.items():
        asset, _ = Asset.objects.get_or_create(code=code, defaults=fields)
        if not ColdWallet.objects.filter(asset=asset).exists():
            ColdWallet.objects.create(asset=asset, address=adapter_for(asset).new_address(asset=asset), label="cold")
        assets.append(asset)
    return assets
