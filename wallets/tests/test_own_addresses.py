"""A withdrawal to one of this exchange's deposit addresses is refused however it is spelt (issue 13, point 5).

Which spellings are one address is the network's to say: an EVM address (0x and 40 hex digits) in any
letter case, the case being only a checksum (EIP-55); a bech32 one (like the simulated network's) in
lower or upper case; anything else exactly as written (base58 is case-sensitive).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.test_api_auth import assert_error
from kyc.models import LevelLimit
from kyc.tests.factories import verified_user
from kyc.tests.test_api import client_for
from wallets import services
from wallets.models import Asset, Withdrawal
from wallets.networks import (
    EvmAddresses,
    ExactAddresses,
    SimulatedNetwork,
    bech32_address_key,
    evm_address_key,
)
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db


class EvmSimulatedNetwork(EvmAddresses, SimulatedNetwork):
    """The simulated chain with Ethereum-style addresses, checksummed by their letter case."""

    def new_address(self, *, asset: Asset) -> str:
        digits = "ab" + secrets.token_hex(19)  # letters in both cases, whatever the random part holds
        return "0x" + "".join(c.upper() if i % 2 else c for i, c in enumerate(digits))


class Base58SimulatedNetwork(ExactAddresses, SimulatedNetwork):
    """The simulated chain with case-sensitive addresses, as base58 ones are."""

    def new_address(self, *, asset: Asset) -> str:
        return "Sim" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "B")


HERE = __name__


@pytest.fixture
def trader() -> Any:
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e9"), review_threshold=Decimal("1e9"))
    return verified_user(level=1)


def withdraw(user: Any, asset: Asset, address: str) -> Any:
    body = {"asset": asset.code, "amount": str(asset.min_withdrawal * 10), "address": address}
    return client_for(user).post("/api/wallet/withdraw", body, format="json")


def refused_as_ours(response: Any) -> None:
    error = assert_error(response, 400, "validation_error")
    assert error["details"] == {"address": ["A deposit address of this exchange."]}


SPELLINGS: list[Callable[[str], str]] = [str, str.upper, str.lower, str.swapcase]


@pytest.mark.parametrize("spelling", SPELLINGS, ids=["as is", "upper", "lower", "swapped"])
def test_a_simulated_bech32_address_is_ours_in_any_case(trader: Any, spelling: Callable[[str], str]) -> None:
    # Given a trader with funds, and a deposit address of the exchange (their own, or someone else's)
    btc = make_asset("BTC")
    fund(trader.pk, btc, "1")
    owners: list[Any] = [trader, UserFactory()]
    for owner in owners:
        address = services.deposit_address(user_id=owner.pk, asset=btc).address
        # When they withdraw to it, spelt in another case, then it is refused
        refused_as_ours(withdraw(trader, btc, spelling(address)))
    assert not Withdrawal.objects.exists()


def test_an_evm_address_is_ours_in_any_case(trader: Any, settings: Any) -> None:
    settings.WALLET_NETWORKS = {"ETH": f"{HERE}.EvmSimulatedNetwork", "*": "wallets.networks.SimulatedNetwork"}
    eth = make_asset("ETH")
    fund(trader.pk, eth, "1")
    address = services.deposit_address(user_id=trader.pk, asset=eth).address
    assert address.startswith("0x")
    assert address not in (address.lower(), "0x" + address[2:].upper())  # checksummed: both cases in it
    for spelling in (address, address.lower(), "0x" + address[2:].upper(), "0x" + address[2:].swapcase()):
        refused_as_ours(withdraw(trader, eth, spelling))
    assert not Withdrawal.objects.exists()


def test_on_a_case_sensitive_network_another_case_is_another_address(trader: Any, settings: Any) -> None:
    settings.WALLET_NETWORKS = {"BTC": f"{HERE}.Base58SimulatedNetwork", "*": "wallets.networks.SimulatedNetwork"}
    btc = make_asset("BTC")
    fund(trader.pk, btc, "1")
    ours = services.deposit_address(user_id=UserFactory().pk, asset=btc).address
    refused_as_ours(withdraw(trader, btc, ours))
    assert withdraw(trader, btc, ours.swapcase()).status_code == 201


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("0xAbCdEf0123456789aBcDeF0123456789AbCdEf01", "0xabcdef0123456789abcdef0123456789abcdef01"),
        ("0XABCDEF0123456789ABCDEF0123456789ABCDEF01", "0xabcdef0123456789abcdef0123456789abcdef01"),
        ("0xnot-an-evm-address", "0xnot-an-evm-address"),  # not one: left as it is
    ],
)
def test_evm_address_key(address: str, key: str) -> None:
    assert evm_address_key(address) == key


def test_bech32_address_key() -> None:
    upper = "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"
    assert bech32_address_key(upper) == upper.lower()
