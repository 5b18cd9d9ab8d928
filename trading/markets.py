"""The markets a fresh exchange lists, created when missing (bootstrap); never changed once there."""

from __future__ import annotations

from decimal import Decimal

from trading.models import Market, MatchingAlgorithm
from wallets.models import Asset

DEFAULT_MARKETS = {
    ("BTC", "USDT"): {"tick_size": Decimal("0.01"), "lot_size": Decimal("0.0001"), "min_quantity": Decimal("0.0001"),
                      "min_notional": Decimal("5"), "algorithm": MatchingAlgorithm.FIFO},
    ("ETH", "USDT"): {"tick_size": Decimal("0.01"), "lot_size": Decimal("0.0001"), "min_quantity": Decimal("0.0001"),
                      "min_notional": Decimal("5"), "algorithm": MatchingAlgorithm.FIFO},
    ("ETH", "BTC"): {"tick_size": Decimal("0.00001"), "lot_size": Decimal("0.001"), "min_quantity": Decimal("0.001"),
                     "min_notional": Decimal("0.0001"), "algorithm": MatchingAlgorithm.PRO_RATA},
}  # fmt: skip


def ensure_markets() -> list[Market]:
    """Create the default markets (their assets must exist); return them."""
    markets = []
    for (base, quote), fields in DEFAULT_MARKETS.items():
        market = Market.objects.filter(base__code=base, quote__code=quote).first()
        if market is None:
            market = Market(base=Asset.objects.get(code=base), quote=Asset.objects.get(code=quote), **fields)
            market.full_clean()
            market.save()
        markets.append(market)
    return markets
