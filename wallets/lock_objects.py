"""Every row lock taken by wallets, in one place, in a fixed order (ids ascending).

Lock order across tables, when several are needed: the user, then the withdrawal or deposit, then
ledger accounts (by id); for hot/cold transfers, the refill window, then the transfer, then ledger
accounts; for cold-wallet addresses, the change, then the cold wallet. Keeping to it is what makes
deadlocks impossible.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from exchange.core.errors import NotFound
from wallets.models import ColdWallet, ColdWalletAddressChange, ColdWalletTransfer, Deposit, LedgerAccount, Withdrawal


def lock_accounts(*, account_ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """Lock ledger accounts in id order; return them by id with their current balances."""
    ids = sorted(set(account_ids))
    return {acc.pk: acc for acc in LedgerAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def lock_deposit(*, deposit_id: int) -> Deposit:
    deposit = Deposit.objects.select_for_update().filter(pk=deposit_id).first()
    if deposit is None:
        raise NotFound("No such deposit.")
    return deposit


def lock_withdrawal(*, withdrawal_id: int) -> Withdrawal:
    withdrawal = Withdrawal.objects.select_for_update().filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise NotFound("No such withdrawal.")
    return withdrawal


def lock_cold_transfer(*, transfer_id: int) -> ColdWalletTransfer:
    transfer = ColdWalletTransfer.objects.select_for_update().filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound("No such transfer.")
    return transfer


def lock_cold_address_change(*, change_id: int) -> ColdWalletAddressChange:
    change = ColdWalletAddressChange.objects.select_for_update().select_related("asset").filter(pk=change_id).first()
    if change is None:
        raise NotFound("No such address change.")
    return change


def lock_cold_wallet(*, asset_id: int) -> ColdWallet | None:
    """Lock an asset's cold wallet (after the address change that alters it); None if it has none."""
    return ColdWallet.objects.select_for_update().filter(asset_id=asset_id).first()


# A transaction-scoped advisory lock: (namespace, key). trading.worker's market locks use 0x7E4D.
REFILL_WINDOW_LOCK = (0x7E4E, 1)


def lock_refill_window() -> None:
    """Serialize executions of hot/cold transfers until commit.

    Whether a refill needs a second approval depends on the refills executed in the last 24 h, all
    assets together: two executed at once must see each other, and no row exists yet to lock.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", REFILL_WINDOW_LOCK)
