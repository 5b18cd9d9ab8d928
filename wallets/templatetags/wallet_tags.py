from __future__ import annotations

from decimal import Decimal

from django import template

from exchange.core import money

register = template.Library()


@register.filter
def words(value: str) -> str:
    """Turn a status code into words: "awaiting_confirmation" -> "Awaiting confirmation"."""
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


@register.filter
def amount(value: Decimal) -> str:
    """Show an amount without trailing zeros, every digit kept: "0.015" (`.normalize` rounds to 28 digits)."""
    return money.trimmed(value)
