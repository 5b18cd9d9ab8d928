"""Reads for wallets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import CharField, F, QuerySet, Value

from accounts.models import User
from exchange.core import money
from exchange.core.errors import NotFound
from wallets.models import ZERO, AccountKind, Asset, Deposit, LedgerAccount, Withdrawal


@dataclass(frozen=True)
class Balance:
    asset: str
    available: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return money.MONEY.add(self.available, self.locked)


def balances_of(*, user: User) -> list[Balance]:
    """Return the user's balance in every asset (zero where nothing was ever deposited)."""
    held: dict[tuple[int, str], Decimal] = {
        (row["asset_id"], row["kind"]): row["balance"]
        for row in LedgerAccount.objects.filter(user=user).values("asset_id", "kind", "balance")
    }
    return [
        Balance(
            asset=asset.code,
            available=money.quantize(held.get((asset.pk, AccountKind.USER_AVAILABLE), ZERO), asset.decimals),
            locked=money.quantize(held.get((asset.pk, AccountKind.USER_LOCKED), ZERO), asset.decimals),
        )
        for asset in Asset.objects.order_by("code")
    ]


def transactions_of(*, user: User, asset: Asset | None = None, kind: str | None = None) -> QuerySet[Any]:
    """Deposits and withdrawals of a user, newest first, as one list of dicts."""
    deposits = Deposit.objects.filter(user=user).values(
        "id",
        type=Value("deposit", output_field=CharField()),
        asset_code=F("asset__code"),
        amount_=F("amount"),
        status_=F("status"),
        created_at=F("seen_at"),
        txid_=F("txid"),
    )
    withdrawals = Withdrawal.objects.filter(user=user).values(
        "id",
        type=Value("withdrawal", output_field=CharField()),
        asset_code=F("asset__code"),
        amount_=F("amount"),
        status_=F("status"),
        created_at=F("requested_at"),
        txid_=F("txid"),
    )
    if asset is not None:
        deposits = deposits.filter(asset=asset)
        withdrawals = withdrawals.filter(asset=asset)
    if kind == "deposit":
        return deposits.order_by("-created_at", "-id")
    if kind == "withdrawal":
        return withdrawals.order_by("-created_at", "-id")
    return deposits.union(withdrawals, all=True).order_by("-created_at", "-id")


def access_withdrawal_by_id(*, user: User, withdrawal_id: int) -> Withdrawal:
    withdrawal = Withdrawal.objects.select_related("asset").filter(pk=withdrawal_id, user=user).first()
    if withdrawal is None:
        raise NotFound("No such withdrawal.")
    return withdrawal
