"""Money arithmetic in one explicit decimal context, and amounts at the edge (parse, format, encode).

Amounts are stored as NUMERIC(36,18): below 10¹⁸, at most 18 decimals. Python's default context has
28 digits, so quantizing 10¹⁰ to 18 places, or multiplying a price by a quantity, can raise
`InvalidOperation` there. Money math runs in `MONEY` instead: 60 digits hold any product of two
stored amounts that is itself storable, and a bad operation raises rather than returning NaN. Rounding
is never implicit: `quantize` names its rounding, and `EXACT` traps a result that would be rounded.

Input is checked on its digits *before* any arithmetic (`adjusted()` says the magnitude without
computing anything), so a value like "1E+1000000" is refused with a field message, never an overflow.
This module imports no app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Protocol

from exchange.core.errors import ValidationFailed

AMOUNT_DIGITS, AMOUNT_PLACES = 36, 18  # NUMERIC(36,18)
INTEGER_DIGITS = AMOUNT_DIGITS - AMOUNT_PLACES
LIMIT = Decimal(10) ** INTEGER_DIGITS  # every stored amount is below this
MAX_INPUT_LENGTH = 100  # characters: far more than a 36-digit amount needs, far less than a parser minds
ZERO = Decimal(0)

MONEY = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    Emax=99,
    Emin=-99,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
VALUATION_ASSET = "USDT"  # what balances, limits and the admin's columns are valued in

EXACT = MONEY.copy()
EXACT.traps[Inexact] = True  # for results that must not be rounded: a rounding raises

# ASCII digits only: Decimal() alone also takes "1_000" and other scripts' digits.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


class HasDecimals(Protocol):
    """An asset, as far as amounts care: its code and how many decimals it has."""

    @property
    def code(self) -> str: ...

    @property
    def decimals(self) -> int: ...


def step(places: int) -> Decimal:
    """Return 10⁻ᵖˡᵃᶜᵉˢ, the smallest step of an amount with `places` decimals."""
    return Decimal(1).scaleb(-places, MONEY)


def quantize(amount: Decimal, places: int, *, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Return `amount` at `places` decimals, rounded as asked, in the money context."""
    return amount.quantize(step(places), rounding=rounding, context=MONEY)


def multiply(a: Decimal, b: Decimal) -> Decimal:
    """Return a * b in the money context (rounded to 60 digits only far beyond any storable amount)."""
    return MONEY.multiply(a, b)


def total(amounts: Iterable[Decimal]) -> Decimal:
    """Return the sum of these amounts in the exact context: a sum of stored amounts is never rounded."""
    result = ZERO
    for amount in amounts:
        result = EXACT.add(result, amount)
    return result


def storable(amount: Decimal) -> bool:
    """Whether NUMERIC(36,18) can hold `amount` as it is (finite, below 10¹⁸, at most 18 decimals)."""
    if not amount.is_finite():
        return False
    if amount.is_zero():
        return True
    if amount.adjusted() >= INTEGER_DIGITS or amount.adjusted() < -AMOUNT_PLACES:
        return False
    return MONEY.quantize(amount, step(AMOUNT_PLACES)) == amount


def parse_decimal(raw: object, *, field: str, places: int = AMOUNT_PLACES, what: str = "") -> Decimal:
    """Return a positive number with at most `places` decimals, below 10¹⁸, or raise ValidationFailed.

    Accepts a string or an integer (JSON amounts are strings); refuses floats, NaN, infinities, zero,
    negatives, too many decimals (rather than rounding them away) and anything NUMERIC(36,18) cannot
    hold — all judged on the digits, before any arithmetic.
    """

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, details={field: [message]})

    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise refuse(f'Send the {field} as a string, such as "0.015".')
    text = str(raw).strip()
    if len(text) > MAX_INPUT_LENGTH:
        raise refuse(f"Too long: at most {MAX_INPUT_LENGTH} characters.")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise refuse("Not a number.") from None
    if not value.is_finite():  # before any comparison: comparing a signalling NaN raises
        raise refuse("Not a finite number.")
    if not NUMBER.fullmatch(text):
        raise refuse("Not a number.")
    if value.is_zero() or value.is_signed():
        raise refuse("Must be greater than zero.")
    if value.adjusted() >= INTEGER_DIGITS:
        raise refuse(f"Too large: must be below 10^{INTEGER_DIGITS}.")
    if value.adjusted() < -places or MONEY.quantize(value, step(places)) != value:
        raise refuse(f"{what or 'It'} has at most {places} decimals.")
    return MONEY.quantize(value, step(places))


def parse_amount(raw: object, *, asset: HasDecimals, field: str = "amount") -> Decimal:
    """Return a positive amount of `asset` at its decimals, or raise ValidationFailed (see parse_decimal)."""
    return parse_decimal(raw, field=field, places=asset.decimals, what=asset.code)


def plain(amount: Decimal, places: int | None = None) -> str:
    """Format an amount as the API's string: fixed point, no exponent (at `places` decimals if given)."""
    return f"{amount:f}" if places is None else f"{quantize(amount, places):f}"


def trimmed(amount: Decimal, *, separators: bool = False) -> str:
    """Format an amount without trailing zeros, fixed point: "0.015" (every digit kept, however many).

    `Decimal.normalize()` in the default context rounds to 28 digits; this never rounds.
    """
    return f"{amount.normalize(MONEY):,f}" if separators else f"{amount.normalize(MONEY):f}"


def numbers_array(values: Iterable[Decimal | int]) -> str:
    """Return the PostgreSQL array literal of these numbers, to send as one parameter.

    psycopg adapts a list one element at a time; for the engine's arrays of a few thousand Decimals
    that took about six times as long as `str` and a join.
    """
    return "{" + ",".join(map(str, values)) + "}"
