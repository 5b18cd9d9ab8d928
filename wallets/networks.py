"""Blockchain network adapters: one class per chain, behind one small interface.

The exchange ships a **simulated network** for development, the demo and tests: addresses are
random, transfers live in the database, and every scan mines a block. A real chain (a Bitcoin
node, an Ethereum RPC) implements the same four methods; settings map asset codes to adapters.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.module_loading import import_string

from wallets.models import Asset, SimulatedChain, SimulatedTransfer


@dataclass(frozen=True)
class IncomingTransfer:
    txid: str
    vout: int
    address: str
    amount: Decimal
    confirmations: int


class NetworkAdapter(Protocol):
    def new_address(self, *, asset: Asset) -> str:
        """Return a fresh deposit address."""

    def normalize_address(self, *, address: str) -> str:
        """Return the spelling that every spelling of this address shares, to compare addresses by.

        It may fold letter case and nothing else (deposit_address_owner looks candidates up by
        case-insensitive equality first): an adapter takes one of the mixins below.
        """

    def incoming_transfers(self, *, asset: Asset, addresses: set[str]) -> list[IncomingTransfer]:
        """Return transfers to any of these addresses, with their confirmations."""

    def send(self, *, asset: Asset, address: str, amount: Decimal) -> str:
        """Broadcast a payout; return its txid."""

    def confirmations(self, *, asset: Asset, txid: str) -> int:
        """Return how many confirmations a transaction has (0 when unknown or unconfirmed)."""


EVM_ADDRESS = re.compile(r"^0[xX][0-9a-fA-F]{40}$")


def evm_address_key(address: str) -> str:
    """An Ethereum-style address in any letter case is one address: the case is only a checksum (EIP-55)."""
    return "0x" + address[2:].lower() if EVM_ADDRESS.match(address) else address


def bech32_address_key(address: str) -> str:
    """A bech32 address (BIP 173) is the same address in lower and in upper case."""
    return address.lower()


class EvmAddresses:
    """Addresses of an EVM chain (Ethereum and its tokens): compared in any letter case."""

    def normalize_address(self, *, address: str) -> str:
        return evm_address_key(address)


class Bech32Addresses:
    """Bech32 addresses (Bitcoin's bc1..., the simulated network's): compared in any letter case."""

    def normalize_address(self, *, address: str) -> str:
        return bech32_address_key(address)


class ExactAddresses:
    """Case-sensitive addresses (base58 and most others): compared exactly as written."""

    def normalize_address(self, *, address: str) -> str:
        return address


class SimulatedNetwork(Bech32Addresses):
    """A chain per asset kept in the database. `mine()` adds a block; transfers confirm as blocks pass.

    Its addresses are bech32-shaped: `sim<asset>` then `1` then hex digits.
    """

    def new_address(self, *, asset: Asset) -> str:
        return f"sim{asset.code.lower()}1{secrets.token_hex(16)}"

    def _height(self, asset: Asset) -> int:
        chain, _ = SimulatedChain.objects.get_or_create(asset=asset)
        return chain.height

    def mine(self, *, asset: Asset) -> int:
        """Add a block; return the new height."""
        with transaction.atomic():
            chain, _ = SimulatedChain.objects.get_or_create(asset=asset)
            SimulatedChain.objects.filter(pk=chain.pk).update(height=F("height") + 1)
            chain.refresh_from_db()
            return chain.height

    def receive(self, *, asset: Asset, address: str, amount: Decimal) -> str:
        """Simulate someone sending `amount` to `address`; it lands in the next block."""
        txid = secrets.token_hex(32)
        SimulatedTransfer.objects.create(
            asset=asset, txid=txid, vout=0, to_address=address, amount=amount, block_height=self._height(asset) + 1
        )
        return txid

    def incoming_transfers(self, *, asset: Asset, addresses: set[str]) -> list[IncomingTransfer]:
        height = self._height(asset)
        return [
            IncomingTransfer(t.txid, t.vout, t.to_address, t.amount, max(0, height - t.block_height + 1))
            for t in SimulatedTransfer.objects.filter(asset=asset, to_address__in=addresses).order_by("pk")
        ]

    def send(self, *, asset: Asset, address: str, amount: Decimal) -> str:
        return self.receive(asset=asset, address=address, amount=amount)

    def confirmations(self, *, asset: Asset, txid: str) -> int:
        transfer = SimulatedTransfer.objects.filter(asset=asset, txid=txid).first()
        return 0 if transfer is None else max(0, self._height(asset) - transfer.block_height + 1)


def adapter_for(asset: Asset) -> NetworkAdapter:
    """Return the network adapter configured for an asset (settings.WALLET_NETWORKS)."""
    path = settings.WALLET_NETWORKS.get(asset.code, settings.WALLET_NETWORKS.get("*"))
    if path is None:
        raise LookupError(f"no network adapter is configured for {asset.code}")
    adapter: NetworkAdapter = import_string(path)()
    return adapter
