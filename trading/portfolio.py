"""What a user's balances are worth in USDT, for the dashboard.

One unit of an asset is worth the last price of its ASSET-USDT market; an asset without such a market
(or before its first trade) is worth its reference price; USDT is worth 1. Values are rounded half up to
the cent once, per asset and for the total (the total is the sum of the unrounded values), the way the
dashboard's script recomputes them when a balance or a price changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from accounts.models import User
from exchange.core import money
from trading.models import Market
from wallets.models import Asset
from wallets.selectors import balances_of

VALUATION_ASSET = money.VALUATION_ASSET


@dataclass(frozen=True)
class Holding:
    asset: str
    name: str
    decimals: int
    available: Decimal
    locked: Decimal
    price_usdt: Decimal  # one unit, in USDT
    priced_by_market: bool  # False: the asset's reference price

    @property
    def total(self) -> Decimal:
        return money.MONEY.add(self.available, self.locked)

    @property
    def exact_value(self) -> Decimal:
        return money.multiply(self.total, self.price_usdt)

    @property
    def value_usdt(self) -> Decimal:
        return money.quantize(self.exact_value, 2, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Portfolio:
    holdings: list[Holding]

    @property
    def total_usdt(self) -> Decimal:
        with localcontext(money.MONEY):  # values of 18-decimal amounts at 18-decimal prices: past 28 digits
            exact = sum((h.exact_value for h in self.holdings), Decimal(0))
        return money.quantize(exact, 2, rounding=ROUND_HALF_UP)


def usdt_prices() -> dict[str, tuple[Decimal, bool]]:
    """Return asset code -> (price of one unit in USDT, whether a market's last trade set it)."""
    prices = {
        code: (Decimal(1) if code == VALUATION_ASSET else reference, False)
        for code, reference in Asset.objects.values_list("code", "reference_price_usdt")
    }
    markets = Market.objects.filter(quote__code=VALUATION_ASSET, last_price__isnull=False)
    for code, last in markets.values_list("base__code", "last_price"):
        prices[code] = (last, True)
    return prices


def asset_prices() -> dict[str, tuple[int, Decimal | None]]:
    """Return asset code -> (its decimals, the USDT price of one unit), for ADMIN_ASSET_PRICES."""
    prices = usdt_prices()
    return {code: (decimals, prices[code][0]) for code, decimals in Asset.objects.values_list("code", "decimals")}


def portfolio_of(*, user: User) -> Portfolio:
    """Return the user's balance in every asset with its value in USDT."""
    prices = usdt_prices()
    assets = {asset.code: asset for asset in Asset.objects.all()}
    holdings = []
    for balance in balances_of(user=user):
        price, by_market = prices.get(balance.asset, (Decimal(0), False))
        asset = assets[balance.asset]
        holdings.append(
            Holding(balance.asset, asset.name, asset.decimals, balance.available, balance.locked, price, by_market)
        )
    return Portfolio(holdings)
