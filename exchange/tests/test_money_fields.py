"""Every field that takes an amount, a price, a count or a time refuses what is out of range with a 400.

Hypothesis drives each one with huge, tiny, exponent, NaN/Infinity and 37-digit values: never a 500,
and a refusal changes nothing (balances, orders, withdrawals, deposits, cold transfers).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import api_signed_in_with_2fa
from kyc.tests.factories import staff_user
from trading.models import Order
from trading.tests.factories import client_for, markets, trader
from wallets.models import ColdWalletTransfer, Deposit, LedgerAccount, Withdrawal

pytestmark = pytest.mark.django_db

NASTY = [
    "9" * 37,
    "9" * 36,
    "1E+1000000",
    "1e99999999999999999999",
    "1e18",
    "1E+17",
    "-1e30",
    "1e-30",
    "1E-1000000",
    "0.0000000000000000001",
    "0." + "0" * 36 + "1",
    "999999999999999999.999999999999999999",
    "12345678901.123456789012345678",
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "-0",
    "0",
    "1_000",
    "\u0661",
    "",
    " ",
    "1" * 200,
]
AMOUNTS = st.one_of(
    st.sampled_from(NASTY),
    st.builds(lambda m, e: f"{m}E{e}", st.integers(-(10**37), 10**37), st.integers(-(10**6), 10**6)),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(1, 10**6), st.integers(-40, 40)),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
)
TIMES = st.one_of(
    st.sampled_from(
        [
            "9" * 37,
            "99999999999999",
            "32503680000000",
            "99999-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+05:00",
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00+99:00",
            "\u0661\u0662",
            "-1",
            "1e10",
            "NaN",
        ]
    ),
    st.integers(0, 10**40).map(str),
    st.text(max_size=30),
)
COUNTS = st.one_of(
    st.sampled_from(["9" * 37, "9" * 5000, "-1", "0", "1e3", "NaN", "\u0661", "1_0"]),
    st.integers(-(10**40), 10**40).map(str),
)
EVERY_EXAMPLE = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def state() -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    return (
        sorted(LedgerAccount.objects.values_list("pk", "balance")),
        sorted(Order.objects.values_list("pk", "status", "hold_remaining")),
        Withdrawal.objects.count(),
        Deposit.objects.count(),
        ColdWalletTransfer.objects.count(),
    )


def fresh() -> tuple[Any, ...]:
    """Start an example: a new rate-limit window (hypothesis runs many in one test), and the state it must keep."""
    cache.clear()
    return state()


def check(response: Any, before: tuple[Any, ...]) -> None:
    assert response.status_code < 500, response.content
    if 400 <= response.status_code < 500:
        assert "error" in response.json(), response.content
        assert state() == before


@pytest.fixture
def alice() -> Any:
    markets()
    return client_for(trader("alice", USDT="100000", BTC="10"))


@EVERY_EXAMPLE
@given(amount=AMOUNTS)
def test_deposit_amount(alice, amount):
    before = fresh()
    check(alice.post("/api/wallet/deposit", {"asset": "BTC", "amount": amount}, format="json"), before)


@EVERY_EXAMPLE
@given(amount=AMOUNTS)
def test_withdraw_amount(alice, amount):
    before = fresh()
    body = {"asset": "USDT", "amount": amount, "address": "0x" + "ab" * 20}
    check(alice.post("/api/wallet/withdraw", body, format="json"), before)


@EVERY_EXAMPLE
@given(price=AMOUNTS, quantity=AMOUNTS)
def test_limit_order_price_and_quantity(alice, price, quantity):
    before = fresh()
    body = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": price, "quantity": quantity}
    check(alice.post("/api/trading/orders", body, format="json"), before)


@EVERY_EXAMPLE
@given(quantity=AMOUNTS, side=st.sampled_from(["buy", "sell"]))
def test_limit_order_quantity_at_a_sane_price(alice, quantity, side):
    before = fresh()
    body = {"symbol": "BTC-USDT", "side": side, "type": "limit", "price": "100", "quantity": quantity}
    check(alice.post("/api/trading/orders", body, format="json"), before)


@EVERY_EXAMPLE
@given(quote_quantity=AMOUNTS)
def test_market_buy_quote_quantity(alice, quote_quantity):
    before = fresh()
    body = {"symbol": "BTC-USDT", "side": "buy", "type": "market", "quote_quantity": quote_quantity}
    check(alice.post("/api/trading/orders", body, format="json"), before)


@EVERY_EXAMPLE
@given(start=TIMES, end=TIMES, limit=COUNTS, interval=st.sampled_from(["1m", "1w"]))
def test_candle_times_and_limit(alice, start, end, limit, interval):
    cache.clear()
    response = alice.get(
        "/api/market/candles/BTC-USDT", {"start": start, "end": end, "limit": limit, "interval": interval}
    )
    assert response.status_code < 500, response.content


@EVERY_EXAMPLE
@given(count=COUNTS)
def test_order_book_depth_and_trades_limit(alice, count):
    cache.clear()
    assert alice.get("/api/trading/orderbook/BTC-USDT", {"depth": count}).status_code < 500
    assert alice.get("/api/trading/trades/BTC-USDT", {"limit": count}).status_code < 500


@EVERY_EXAMPLE
@given(page=COUNTS, page_size=COUNTS)
def test_list_pages_and_page_sizes(alice, page, page_size):
    cache.clear()
    for url in ("/api/trading/orders", "/api/wallet/transactions", "/api/trading/fills"):
        assert alice.get(url, {"page": page, "page_size": page_size}).status_code < 500


@pytest.mark.parametrize("count", ["1_0", "\u0661", " 5", "+5", "5.0", "0x10"])
def test_a_count_is_ascii_digits_only(alice, count):
    response = alice.get("/api/trading/orderbook/BTC-USDT", {"depth": count})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["depth"]


@pytest.fixture
def treasurer() -> Any:
    markets()
    return api_signed_in_with_2fa(staff_user("Treasury"))


@EVERY_EXAMPLE
@given(amount=AMOUNTS)
def test_cold_transfer_amount(treasurer, amount):
    before = fresh()
    body = {"asset": "USDT", "direction": "to_cold", "amount": amount}
    check(treasurer.post("/api/admin/cold-transfers", body, format="json"), before)


def test_a_limit_order_worth_ten_to_the_twenty_four_is_refused_not_a_500(alice):
    before = fresh()
    body = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "1e12", "quantity": "1e12"}
    response = alice.post("/api/trading/orders", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert "too large" in response.json()["error"]["details"]["quantity"][0]
    assert state() == before


@pytest.mark.parametrize("start", ["9" * 30, "99999999999999", "0001-01-01T00:00:00+05:00", "2026-02-30T00:00:00Z"])
def test_a_candle_start_out_of_range_is_a_400_with_a_field_message(alice, start):
    response = alice.get("/api/market/candles/BTC-USDT", {"start": start})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"]["start"]


def test_an_end_at_the_first_moment_of_the_epoch_is_fine(alice):
    response = alice.get("/api/market/candles/BTC-USDT", {"end": "0", "interval": "1w", "limit": "1000"})
    assert response.status_code == 200, response.content


def test_a_huge_amount_of_an_eighteen_decimal_asset_is_a_400(alice):
    response = alice.post("/api/wallet/deposit", {"asset": "ETH", "amount": "1E+1000000"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["amount"] == ["Too large: must be below 10^18."]


# --- The page forms: the same fields, typed by people ---------------------------------------------

FORM_VALUES = AMOUNTS.map(lambda value: "" if value is None else str(value))


def check_page(response: Any, before: tuple[Any, ...]) -> None:
    assert response.status_code < 500
    if response.status_code != 302:  # the form again, saying what is wrong: nothing was done
        assert state() == before


@pytest.fixture
def alice_page() -> Client:
    markets()
    client = Client()
    client.force_login(trader("alice", USDT="100000", BTC="10"))
    return client


@EVERY_EXAMPLE
@given(price=FORM_VALUES, quantity=FORM_VALUES, kind=st.sampled_from(["limit", "market"]))
def test_trade_page_order_form(alice_page, price, quantity, kind):
    before = fresh()
    form = {"side": "buy", "type": kind, "price": price, "quantity": quantity, "time_in_force": "GTC"}
    check_page(alice_page.post("/trade/BTC-USDT", form), before)


@EVERY_EXAMPLE
@given(quote_quantity=FORM_VALUES)
def test_trade_page_market_buy_spend(alice_page, quote_quantity):
    before = fresh()
    form = {"side": "buy", "type": "market", "quote_quantity": quote_quantity, "time_in_force": "IOC"}
    check_page(alice_page.post("/trade/BTC-USDT", form), before)


@EVERY_EXAMPLE
@given(amount=FORM_VALUES, asset=st.sampled_from(["BTC", "ETH", "USDT"]))
def test_deposit_page_amount(alice_page, amount, asset):
    before = fresh()
    check_page(alice_page.post("/wallet/deposit", {"asset": asset, "amount": amount}), before)


@EVERY_EXAMPLE
@given(amount=FORM_VALUES)
def test_withdraw_page_amount(alice_page, amount):
    before = fresh()
    form = {"asset": "USDT", "amount": amount, "address": "0x" + "ab" * 20, "client_id": "page-test"}
    check_page(alice_page.post("/wallet/withdraw", form), before)


# --- Out of range is a 400 validation_error naming the field, on every endpoint -------------------

OUT_OF_RANGE = ["9" * 37, "1E+1000000", "1e99999999999999999999", "1e18", "1e-30", "NaN", "sNaN", "-Infinity", "-0"]
ENDPOINTS = {
    "deposit amount": ("/api/wallet/deposit", {"asset": "ETH"}, "amount"),
    "withdraw amount": ("/api/wallet/withdraw", {"asset": "USDT", "address": "0x" + "ab" * 20}, "amount"),
    "limit price": (
        "/api/trading/orders",
        {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "quantity": "1"},
        "price",
    ),
    "limit quantity": (
        "/api/trading/orders",
        {"symbol": "BTC-USDT", "side": "sell", "type": "limit", "price": "100"},
        "quantity",
    ),
    "market spend": ("/api/trading/orders", {"symbol": "BTC-USDT", "side": "buy", "type": "market"}, "quote_quantity"),
}


@pytest.mark.parametrize("raw", OUT_OF_RANGE)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_out_of_range_value_is_a_validation_error_naming_its_field(alice, endpoint, raw):
    url, body, field = ENDPOINTS[endpoint]
    before = fresh()

    response = alice.post(url, {**body, field: raw}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"][field]
    assert state() == before


@pytest.mark.parametrize("raw", OUT_OF_RANGE)
def test_an_out_of_range_cold_transfer_amount_is_a_validation_error(treasurer, raw):
    before = fresh()

    response = treasurer.post("/api/admin/cold-transfers", {"asset": "USDT", "direction": "to_cold", "amount": raw})

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"]["amount"]
    assert state() == before
