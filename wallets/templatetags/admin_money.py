"""Amounts in the admin's templates: `{% money amount asset prices %}`, `{{ amount|at_precision:asset }}`."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.safestring import SafeString

from exchange.core import admin as admin_helpers
from wallets.models import Asset

register = template.Library()


@register.simple_tag
def money(
    amount: Decimal | None, asset: Asset | None, prices: admin_helpers.UsdtPrices | None = None
) -> SafeString | str:
    """Render an amount at its asset's precision with its code and USDT value."""
    return admin_helpers.money(amount, asset, prices, code=True)


@register.filter
def at_precision(amount: Decimal | None, asset: Asset | None) -> str:
    """Render an amount at its asset's precision with thousands separators (no value, no code)."""
    if amount is None or asset is None:
        return "—"
    return admin_helpers.format_amount(amount, decimals=asset.decimals)


@register.filter
def in_usdt(value: Decimal | None) -> SafeString | str:
    """Render a USDT value in cents with thousands separators."""
    return admin_helpers.usdt(value)
