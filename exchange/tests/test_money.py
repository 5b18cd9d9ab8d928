"""Money math in one explicit context: big legitimate amounts work, absurd ones are refused on their digits."""

from __future__ import annotations

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from conftest import api_signed_in_with_2fa
from exchange.core import money
from exchange.core.errors import ValidationFailed
from kyc.tests.factories import staff_user
from trading.tests.factories import client_for, markets, trader
from wallets import ledger, services, treasury
from wallets.audit import run_audit
from wallets.models import AccountKind, ColdWallet, ColdWalletTransfer, EntryKind
from wallets.tasks import rebalance_hot_wallets
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


@pytest.mark.django_db
def test_a_balance_above_ten_billion_with_eighteen_places_reads_to_the_last_decimal():
    markets()
    whale = trader("whale", ETH=str(BIG))

    balances = client_for(whale).get("/api/wallet/balances")

    assert balances.status_code == 200, balances.content
    assert {"asset": "ETH", "available": str(BIG), "locked": "0.000000000000000000"} in balances.json()
    history = client_for(whale).get("/api/wallet/transactions")
    assert [row["amount"] for row in history.json()["results"]] == [str(BIG)]


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/", "/wallet", "/wallet/withdraw", "/wallet/deposit?asset=ETH", "/trade/ETH-USDT"])
def test_the_pages_that_show_a_balance_above_ten_billion_show_it(client, page):
    markets()
    whale = trader("whale", ETH=str(BIG))
    services.simulate_incoming_deposit(user_id=whale.pk, asset=make_asset("ETH"), amount=BIG)  # on its way
    client.force_login(whale)

    response = client.get(page)

    assert response.status_code == 200
    shown = set(re.findall(r"12345678901[0-9.]*", response.content.decode()))
    assert shown == {str(BIG)}, "the balance, to its last decimal, wherever it is shown"


@pytest.mark.django_db
def test_hot_and_cold_rebalance_an_asset_held_above_ten_billion_with_eighteen_places():
    eth = make_asset("ETH")  # hot kept between a fraction of what users hold, a band of 18-decimal amounts
    ColdWallet.objects.create(asset=eth, address="0x" + "c0" * 20)
    fund(UserFactory().pk, eth, BIG)

    rebalance_hot_wallets()

    sweep = ColdWalletTransfer.objects.get()
    assert sweep.direction == "to_cold"
    assert sweep.amount == money.MONEY.subtract(BIG, treasury.position(asset=eth).target)
    assert run_audit().ok
    treasurer = api_signed_in_with_2fa(staff_user("Treasury"))
    listed = treasurer.get("/api/admin/cold-transfers").json()
    assert [Decimal(row["amount"]) for row in listed["results"]] == [sweep.amount]
    wallets = {row["asset"]: row for row in treasurer.get("/api/admin/wallets").json()}
    assert Decimal(wallets["ETH"]["liabilities"]) == BIG
    report = StringIO()
    call_command("audit_ledger", stdout=report)
    assert str(BIG) in report.getvalue()


@pytest.mark.django_db
def test_a_sweep_by_hand_of_an_asset_held_above_ten_billion_is_checked_to_the_last_decimal():
    eth = make_asset("ETH")
    ColdWallet.objects.create(asset=eth, address="0x" + "c0" * 20)
    fund(UserFactory().pk, eth, BIG)
    most = money.EXACT.subtract(BIG, treasury.position(asset=eth).floor)  # 29 digits

    plan = treasury.plan_transfer(asset=eth, direction="to_cold", amount=most)
    with pytest.raises(ValidationFailed) as refused:
        treasury.plan_transfer(asset=eth, direction="to_cold", amount=money.EXACT.add(most, Decimal("1e-18")))

    assert (plan.amount, plan.hot_after, plan.cold_after) == (most, treasury.position(asset=eth).floor, most)
    assert f"sweep at most {most:,f}." in refused.value.details["amount"][0]
