"""What wallets tell their clients, in one place: each REST response and stream message with its schema.

A balance is written by one function here whether it leaves as a REST response or on the stream's
`user` channel (trading's consumer sends it; trading sits above wallets and may use this module,
never the reverse). Deposits, withdrawals and addresses are written here too, each next to its
OpenAPI declaration. Builders only shape what was read; amounts are strings at their asset's places.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from exchange.core.money import plain, trimmed
from wallets.models import (
    Deposit,
    DepositAddress,
    DepositStatus,
    WalletSettings,
    Withdrawal,
    WithdrawalAddress,
)
from wallets.selectors import Balance


def _schema(name: str, **fields: serializers.Field[Any, Any, Any, Any]) -> Any:
    """An inline response serializer for the OpenAPI schema."""
    return inline_serializer(name, fields)


BALANCE_SCHEMA = inline_serializer(
    "Balance",
    {"asset": serializers.CharField(), "available": serializers.CharField(), "locked": serializers.CharField()},
    many=True,
)


def balance_payload(balance: Balance) -> dict[str, str]:
    """Return a user's balance of one asset, as REST lists it and the stream's `balances` message carries it."""
    return {"asset": balance.asset, "available": plain(balance.available), "locked": plain(balance.locked)}


# --- deposits and withdrawals ------------------------------------------------------------------


class TransactionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    type = serializers.CharField()
    asset = serializers.CharField()
    amount = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    txid = serializers.CharField()

    class Meta:
        ref_name = "WalletTransaction"


def deposit_payload(deposit: Deposit) -> dict[str, Any]:
    """Return a deposit with how far its confirmations are, and why it was rejected if it was."""
    return {
        "id": deposit.pk,
        "type": "deposit",
        "asset": deposit.asset.code,
        "amount": plain(deposit.amount, deposit.asset.decimals),
        "status": deposit.status,
        "created_at": deposit.seen_at,
        "txid": deposit.txid,
        "confirmations": deposit.confirmations,
        "confirmations_required": deposit.asset.confirmations_required,
        "reason": deposit.hold_reason if deposit.status == DepositStatus.REJECTED else "",
    }


def withdrawal_payload(withdrawal: Withdrawal) -> dict[str, Any]:
    """Return a withdrawal with its fee, and why it failed or waits for review if it does."""
    places = withdrawal.asset.decimals
    return {
        "id": withdrawal.pk,
        "type": "withdrawal",
        "asset": withdrawal.asset.code,
        "amount": plain(withdrawal.amount, places),
        "fee": plain(withdrawal.fee, places),
        "net_amount": plain(withdrawal.net_amount, places),
        "address": withdrawal.address,
        "status": withdrawal.status,
        "created_at": withdrawal.requested_at,
        "txid": withdrawal.txid,
        "reason": withdrawal.failure_reason or withdrawal.review_reason,
        "confirmation_sent_at": withdrawal.confirmation_sent_at,
    }


def transaction_row_payload(row: dict[str, Any]) -> dict[str, Any]:
    """Return a row of the history (`wallets.selectors.transactions_of`), deposits and withdrawals alike."""
    return {
        "id": row["id"],
        "type": row["type"],
        "asset": row["asset_code"],
        "amount": trimmed(row["amount_"]),
        "status": row["status_"],
        "created_at": row["created_at"],
        "txid": row["txid_"],
    }


# --- addresses and settings --------------------------------------------------------------------

DEPOSIT_ADDRESS_SCHEMA = _schema(
    "DepositAddress",
    asset=serializers.CharField(),
    address=serializers.CharField(),
    created_at=serializers.DateTimeField(),
)


def deposit_address_payload(address: DepositAddress) -> dict[str, Any]:
    return {"asset": address.asset.code, "address": address.address, "created_at": address.created_at}


ADDRESS_BOOK_ENTRY_SCHEMA = _schema(
    "AddressBookEntry",
    id=serializers.IntegerField(),
    asset=serializers.CharField(),
    address=serializers.CharField(),
    label=serializers.CharField(),
    created_at=serializers.DateTimeField(),
)


def address_book_entry_payload(entry: WithdrawalAddress) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "asset": entry.asset.code,
        "address": entry.address,
        "label": entry.label,
        "created_at": entry.created_at,
    }


ADDRESS_BOOK_SCHEMA = _schema(
    "AddressBook",
    whitelist_only=serializers.BooleanField(),
    addresses=serializers.ListField(child=serializers.DictField()),
)


def address_book_payload(settings_row: WalletSettings | None, entries: Iterable[WithdrawalAddress]) -> dict[str, Any]:
    """Return the address book, and whether withdrawals may go only to its addresses (off until set)."""
    return {
        "whitelist_only": bool(settings_row and settings_row.whitelist_only),
        "addresses": [address_book_entry_payload(entry) for entry in entries],
    }


WALLET_SETTINGS_SCHEMA = _schema("WalletSettings", whitelist_only=serializers.BooleanField())


def wallet_settings_payload(row: WalletSettings) -> dict[str, Any]:
    return {"whitelist_only": row.whitelist_only}
