"""Money math in one explicit context: big legitimate amounts work, absurd ones are refused on their digits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from exchange.core import money
from exchange.errors import ValidationFailed
from wallets import ledger, services
from wallets.audit import run_audit
from wallets.models import AccountKind, EntryKind
from wallets.tests.factories import fund, make_asset

BIG = Decimal("12345678901.123456789012345678")  # ≥ 10¹⁰ with 18 places: 29 digits, past the default 28


class Eth:
    code = "ETH"
    decimals = 18


@pytest.mark.django_db
def test_a_ledger_entry_above_ten_billion_with_eighteen_places_posts_and_audits():
    eth = make_asset("ETH")
    user = UserFactory()
    hot = ledger.account(asset=eth, kind=AccountKind.HOT_WALLET)
    available, _ = ledger.user_accounts(user_id=user.pk, asset=eth)

    with transaction.atomic():
        ledger.post_entry(
            kind=EntryKind.DEPOSIT,
            idempotency_key="big",
            legs=[ledger.increase(hot, BIG), ledger.increase(available, BIG)],
        )

    available.refresh_from_db()
    hot.refresh_from_db()
    assert available.balance == BIG
    assert hot.balance == BIG
    assert run_audit().ok


@pytest.mark.django_db
def test_a_big_deposit_is_credited_held_and_released_to_the_last_decimal():
    eth = make_asset("ETH")
    user = UserFactory()
    fund(user.pk, eth, BIG)
    almost_all = money.MONEY.subtract(BIG, Decimal("1e-18"))  # the default context would round it to 28 digits
    with transaction.atomic():
        services.hold(user_id=user.pk, asset=eth, amount=almost_all, idempotency_key="h")
    available, locked = ledger.user_accounts(user_id=user.pk, asset=eth)
    assert (available.balance, locked.balance) == (Decimal("1e-18"), almost_all)
    with transaction.atomic():  # a bare hold is no order's: give it back before the audit
        services.release(user_id=user.pk, asset=eth, amount=almost_all, idempotency_key="r")
    available.refresh_from_db()
    assert available.balance == BIG
    assert run_audit().ok


def test_plain_formats_a_big_amount_at_eighteen_places():
    assert money.plain(BIG, 18) == "12345678901.123456789012345678"
    assert money.plain(Decimal("999999999999999999.999999999999999999"), 18) == "999999999999999999.999999999999999999"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1E+1000000", "Too large"),
        ("1e99999999999999999999", "Not a number"),
        ("9" * 37, "Too large"),
        ("1e18", "Too large"),
        ("-1e30", "greater than zero"),
        ("-0", "greater than zero"),
        ("1e-30", "at most 18 decimals"),
        ("1E-1000000", "at most 18 decimals"),
        ("0.0000000000000000001", "at most 18 decimals"),
        ("sNaN", "Not a finite number"),
        ("-NaN", "Not a finite number"),
        ("-Infinity", "Not a finite number"),
        ("1_000", "Not a number"),
        ("\u0661", "Not a number"),  # ARABIC-INDIC DIGIT ONE
        ("1" * 101, "Too long"),
    ],
)
def test_absurd_amounts_are_refused_with_a_field_message(raw, message):
    with pytest.raises(ValidationFailed) as refused:
        money.parse_amount(raw, asset=Eth())
    assert message in refused.value.details["amount"][0]


def test_the_largest_and_smallest_storable_amounts_are_accepted():
    assert money.parse_amount("999999999999999999.999999999999999999", asset=Eth()) == Decimal(
        "999999999999999999.999999999999999999"
    )
    assert money.parse_amount("1e-18", asset=Eth()) == Decimal("1e-18")
    assert money.parse_amount("1.5E+3", asset=Eth()) == Decimal(1500)


@given(
    st.decimals(allow_nan=True, allow_infinity=True)
    | st.builds(lambda m, e: f"{m}E{e}", st.integers(-(10**40), 10**40), st.integers(-(10**7), 10**7))
)
def test_parsing_any_number_either_returns_a_storable_amount_or_refuses(raw):
    try:
        value = money.parse_amount(str(raw), asset=Eth())
    except ValidationFailed as refused:
        assert refused.details["amount"]  # noqa: PT017 - either outcome is fine, but only these two
    else:
        assert money.storable(value)
        assert value > 0


@given(
    st.decimals(min_value=Decimal("1e-18"), max_value=Decimal("1e9"), places=18),
    st.decimals(min_value=Decimal("1e-18"), max_value=Decimal("1e9"), places=18),
)
def test_multiply_is_exact_for_any_two_amounts_whose_product_is_storable(a, b):
    product = money.EXACT.multiply(a, b)  # raises Inexact if the 60 digits did not suffice
    assert money.multiply(a, b) == product
