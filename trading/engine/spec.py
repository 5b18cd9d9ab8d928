"""A market as the engine counts it: prices in ticks, quantities in lots, and the way back to decimals.

Pure Python, no Django. The book works in integers; this is the one place that converts, and it
converts exactly: a price that is not a whole number of ticks (or a quantity not a whole number of
lots) is a bug upstream, and `ticks`/`lots` raise `Inexact` instead of rounding it away. The one
conversion that rounds says so in its name: `affordable`, which floors a hold to what it can pay for.

Call it inside the money context (exchange.core.money.MONEY): products and quotients of stored
amounts need more than Python's default 28 digits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


class Inexact(ValueError):
    """An amount that is not a whole number of the market's steps."""


@dataclass(frozen=True, slots=True)
class MarketSpec:
    symbol: str
    tick: Decimal  # the price step, in quote per base
    lot: Decimal  # the quantity step, in base
    base: int  # the base asset's id
    quote: int  # the quote asset's id
    base_quantum: Decimal  # the smallest amount of the base asset (fees round up to it)
    quote_quantum: Decimal
    maker_rate: Decimal
    taker_rate: Decimal
    unit: Decimal = field(init=False)  # quote per tick x lot: the notional of one lot at one tick

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", self.tick * self.lot)

    def ticks(self, price: Decimal) -> int:
        steps, rest = divmod(price, self.tick)
        if rest:
            raise Inexact(f"{self.symbol}: price {price} is not a whole number of ticks of {self.tick}")
        return int(steps)

    def lots(self, quantity: Decimal) -> int:
        steps, rest = divmod(quantity, self.lot)
        if rest:
            raise Inexact(f"{self.symbol}: quantity {quantity} is not a whole number of lots of {self.lot}")
        return int(steps)

    def affordable(self, amount: Decimal) -> int:
        """How many ticks x lots `amount` of quote pays for, rounded down: a market buy's budget."""
        return int(amount // self.unit)

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick

    def quantity(self, lots: int) -> Decimal:
        return lots * self.lot

    def notional(self, ticks: int, lots: int) -> Decimal:
        return ticks * lots * self.unit
