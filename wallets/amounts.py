"""Amounts at the edge: parse what people and programs send, format what the API sends back."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from exchange.errors import ValidationFailed
from wallets.models import Asset


def parse_amount(raw: object, *, asset: Asset, field: str = "amount") -> Decimal:
    """Return a positive amount with at most the asset's decimals, or raise ValidationFailed.

    Accepts a string or an integer (JSON amounts are strings); refuses floats, NaN, infinities,
    zero, negatives and more decimals than the asset has, rather than rounding them away.
    """

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, details={field: [message]})

    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise refuse('Send the amount as a string, such as "0.015".')
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        raise refuse("Not a number.") from None
    if not amount.is_finite():
        raise refuse("Not a finite number.")
    if amount <= 0:
        raise refuse("Must be greater than zero.")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > asset.decimals:
        raise refuse(f"{asset.code} has at most {asset.decimals} decimals.")
    if amount >= Decimal(10) ** 18:
        raise refuse("Too large.")
    return amount.quantize(asset.quantum)


def plain(amount: Decimal, places: int | None = None) -> str:
    """Format an amount as the API's string: fixed point, no exponent (at `places` decimals if given)."""
    return f"{amount:f}" if places is None else f"{amount.quantize(Decimal(1).scaleb(-places)):f}"
