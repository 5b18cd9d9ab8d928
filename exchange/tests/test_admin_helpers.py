"""Amounts as the admin prints them: the asset's precision, thousands separators, USDT in cents."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.core.admin import format_amount, format_usdt


@pytest.mark.parametrize(
    ("amount", "decimals", "shown"),
    [
        ("1757.499999999999999998", 6, "1,757.500000"),  # a USDT balance carrying fee dust
        ("1757.499999999999999998", 18, "1,757.499999999999999998"),
        ("1234.5", 8, "1,234.50000000"),
        ("-1234.5", 2, "-1,234.50"),
        ("0", 8, "0.00000000"),
        ("999999999999999999.999999999999999999", 18, "999,999,999,999,999,999.999999999999999999"),  # NUMERIC(36, 18)
    ],
)
def test_an_amount_shows_at_its_precision_with_separators(amount, decimals, shown):
    assert format_amount(Decimal(amount), decimals=decimals) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [("0.005", "0.01"), ("74070000", "74,070,000.00"), ("1e20", "100,000,000,000,000,000,000.00")],
)
def test_a_usdt_value_shows_in_cents_rounded_half_up(value, shown):
    assert format_usdt(Decimal(value)) == shown


@given(
    amount=st.decimals(min_value=Decimal("-1e18"), max_value=Decimal("1e18"), places=18, allow_nan=False),
    decimals=st.integers(min_value=0, max_value=18),
)
def test_the_printed_amount_reads_back_as_the_amount_at_that_precision(amount, decimals):
    shown = format_amount(amount, decimals=decimals)
    whole = shown.lstrip("-").split(".")[0]
    assert all(len(group) == 3 for group in whole.split(",")[1:])  # separators every three digits
    expected = amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN, context=Context(prec=60))
    assert Decimal(shown.replace(",", "")).compare_total(expected) == 0  # the same digits, the same places
