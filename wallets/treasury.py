"""Hot and cold wallets: automatic sweeps to cold, refills that treasury staff execute.

A transfer leaves its source wallet into "in transit" when it is broadcast and reaches its target
when the network confirms it, each step one ledger entry with its own idempotency key. Refills
(cold → hot) are requested automatically when the hot wallet falls below its floor, and executed by
a Treasury staff member in the admin; once the refills executed without a second approval in the
last 24 h (all assets, this one included) come to more than COLD_TRANSFER_SECOND_APPROVAL_USDT, a
second, different staff member approves first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction, User
from exchange.core import money
from exchange.core.errors import Conflict, Forbidden, ValidationFailed
from exchange.core.money import parse_amount
from wallets import ledger, services
from wallets.lock_objects import (
    lock_accounts,
    lock_cold_address_change,
    lock_cold_transfer,
    lock_cold_wallet,
    lock_refill_window,
)
from wallets.models import (
    ZERO,
    AccountKind,
    Asset,
    ColdWallet,
    ColdWalletAddressChange,
    ColdWalletAddressChangeStatus,
    ColdWalletTransfer,
    ColdWalletTransferDirection,
    ColdWalletTransferStatus,
    EntryKind,
    LedgerAccount,
)
from wallets.networks import adapter_for
from wallets.withdrawals import ADDRESS_PATTERN

logger = logging.getLogger(__name__)
OPEN_TRANSFER = [ColdWalletTransferStatus.REQUESTED, ColdWalletTransferStatus.IN_TRANSIT]
REFILL_WINDOW = timedelta(hours=24)  # refills without a second approval add up over this long


@dataclass(frozen=True)
class WalletPosition:
    asset: Asset
    hot: Decimal
    cold: Decimal
    in_transit: Decimal
    liabilities: Decimal
    floor: Decimal
    ceiling: Decimal

    @property
    def target(self) -> Decimal:
        """Where a rebalance brings the hot wallet: the middle of its band."""
        return money.quantize(money.MONEY.divide(money.MONEY.add(self.floor, self.ceiling), 2), self.asset.decimals)


def position(*, asset: Asset) -> WalletPosition:
    balances = dict.fromkeys(AccountKind, ZERO)
    for row in LedgerAccount.objects.filter(asset=asset).values("kind", "balance"):
        balances[AccountKind(row["kind"])] = money.MONEY.add(balances[AccountKind(row["kind"])], row["balance"])
    owed = (AccountKind.USER_AVAILABLE, AccountKind.USER_LOCKED, AccountKind.FEE_REVENUE)
    liabilities = money.total(balances[kind] for kind in owed)
    scale = liabilities if asset.hot_limits_relative else Decimal(1)
    return WalletPosition(
        asset=asset,
        hot=balances[AccountKind.HOT_WALLET],
        cold=balances[AccountKind.COLD_WALLET],
        in_transit=balances[AccountKind.IN_TRANSIT],
        liabilities=liabilities,
        floor=money.quantize(money.multiply(asset.hot_floor, scale), asset.decimals),
        ceiling=money.quantize(money.multiply(asset.hot_ceiling, scale), asset.decimals),
    )


def _accounts(asset: Asset, direction: str) -> tuple[LedgerAccount, LedgerAccount]:
    hot = ledger.account(asset=asset, kind=AccountKind.HOT_WALLET)
    cold = ledger.account(asset=asset, kind=AccountKind.COLD_WALLET)
    return (hot, cold) if direction == ColdWalletTransferDirection.TO_COLD else (cold, hot)


def refilled_without_second_approval(*, since: datetime, excluding: int | None = None) -> Decimal:
    """Return the USDT value of the refills executed since then without a second approval, every asset."""
    refills = ColdWalletTransfer.objects.filter(
        direction=ColdWalletTransferDirection.TO_HOT,
        executed_at__gte=since,
        approved_by__isnull=True,
        status__in=[ColdWalletTransferStatus.IN_TRANSIT, ColdWalletTransferStatus.COMPLETED],
    )
    if excluding is not None:
        refills = refills.exclude(pk=excluding)
    total: Decimal | None = refills.aggregate(total=Sum(F("amount") * F("asset__reference_price_usdt")))["total"]
    return total or ZERO


def _needs_second_approval(transfer: ColdWalletTransfer) -> bool:
    """Whether a refill takes two people; sweeps to cold only make the funds safer.

    It does when, with the refills executed in the last 24 h without a second approval (any asset, by
    anyone), it comes to more than the threshold: splitting a large refill into small ones dodges
    nothing. What a second person approved does not count against what may move without one.
    """
    if transfer.direction != ColdWalletTransferDirection.TO_HOT:
        return False
    since = timezone.now() - REFILL_WINDOW
    value = money.MONEY.add(
        money.multiply(transfer.amount, transfer.asset.reference_price_usdt),
        refilled_without_second_approval(since=since, excluding=transfer.pk),
    )
    return bool(value > settings.COLD_TRANSFER_SECOND_APPROVAL_USDT)


@dataclass(frozen=True)
class TransferPlan:
    """A transfer someone asks for, checked: the wallets now and once it and the open ones have moved."""

    asset: Asset
    direction: str
    amount: Decimal
    now: WalletPosition
    hot_after: Decimal
    cold_after: Decimal
    open_transfers: int
    needs_second_approval: bool


def _amounts(value: Decimal) -> str:
    return money.trimmed(value, separators=True) if value else "0"


def plan_transfer(*, asset: Asset, direction: str, amount: Decimal) -> TransferPlan:
    """Check a transfer asked for by hand; raise ValidationFailed (naming the field) if the wallets can't make it.

    The amount is positive, within the asset's precision, within what the source wallet holds, and
    leaves the hot wallet inside its band: a sweep never takes it below its floor, a refill never
    above its ceiling (the automatic sweep would send the excess straight back). Transfers still
    open for the asset count as made, so two requests cannot each pass alone and overdraw together.
    """
    with localcontext(money.MONEY):  # sums of 18-decimal amounts above 10^10 need more than 28 digits
        return _plan_transfer(asset=asset, direction=direction, amount=amount)


def _plan_transfer(*, asset: Asset, direction: str, amount: Decimal) -> TransferPlan:
    amount = parse_amount(amount, asset=asset)
    if direction not in ColdWalletTransferDirection.values:
        raise ValidationFailed("Choose hot to cold or cold to hot.", details={"direction": ["Not a direction."]})
    now = position(asset=asset)
    # What each wallet can send now (less what requested transfers will take out of it), and what it
    # will hold once every open transfer has arrived.
    available = {"hot": now.hot, "cold": now.cold}
    arriving = {"hot": ZERO, "cold": ZERO}
    count = 0
    for other in ColdWalletTransfer.objects.filter(asset=asset, status__in=OPEN_TRANSFER):
        count += 1
        source, target = ("hot", "cold") if other.direction == ColdWalletTransferDirection.TO_COLD else ("cold", "hot")
        if other.status == ColdWalletTransferStatus.REQUESTED:
            available[source] -= other.amount
        arriving[target] += other.amount
    besides = f" (counting the {count} open transfer{'s' if count > 1 else ''})" if count else ""
    source = "hot" if direction == ColdWalletTransferDirection.TO_COLD else "cold"
    hot, cold = available["hot"] + arriving["hot"], available["cold"] + arriving["cold"]

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, details={"amount": [message]})

    if amount > available[source]:
        raise refuse(
            f"The {source} wallet holds {_amounts(available[source])} {asset.code}{besides}: "
            f"less than {_amounts(amount)}."
        )
    if direction == ColdWalletTransferDirection.TO_COLD:
        hot_after, cold_after = hot - amount, cold + amount
        if hot_after < now.floor:
            most = max(min(available["hot"], hot - now.floor), ZERO)
            raise refuse(
                f"This would leave the hot wallet with {_amounts(hot_after)} {asset.code}{besides}, below its floor "
                f"of {_amounts(now.floor)}: sweep at most {_amounts(most)}."
            )
    else:
        hot_after, cold_after = hot + amount, cold - amount
        if hot_after > now.ceiling:
            most = max(min(available["cold"], now.ceiling - hot), ZERO)
            raise refuse(
                f"This would bring the hot wallet to {_amounts(hot_after)} {asset.code}{besides}, above its ceiling "
                f"of {_amounts(now.ceiling)}: refill at most {_amounts(most)}."
            )
    return TransferPlan(
        asset=asset,
        direction=direction,
        amount=amount,
        now=now,
        hot_after=hot_after,
        cold_after=cold_after,
        open_transfers=count,
        needs_second_approval=_needs_second_approval(
            ColdWalletTransfer(asset=asset, direction=direction, amount=amount)
        ),
    )


def request_transfer(
    *, asset: Asset, direction: str, amount: Decimal, staff: User | None, automatic: bool = False
) -> ColdWalletTransfer:
    """Record a transfer between hot and cold; it moves when executed.

    One asked for by hand is checked by `plan_transfer` first; the automatic ones are sized by the
    band already (a refill is asked for even when cold holds too little: treasury must see it).
    """
    if amount <= 0:
        raise ValidationFailed("The amount must be positive.", details={"amount": ["Must be positive."]})
    if staff is not None and not staff.has_perm("wallets.add_coldwallettransfer"):
        raise Forbidden("Only treasury staff can move funds between hot and cold wallets.")
    if not ColdWallet.objects.filter(asset=asset).exists():
        raise Conflict(f"{asset.code} has no cold wallet configured.")
    if not automatic:
        amount = plan_transfer(asset=asset, direction=direction, amount=amount).amount
    transfer = ColdWalletTransfer.objects.create(
        asset=asset,
        direction=direction,
        amount=money.quantize(amount, asset.decimals),
        status=ColdWalletTransferStatus.REQUESTED,
        requested_by=staff,
        automatic=automatic,
    )
    if staff is not None:
        audit.record(AuditAction.TREASURY_REQUESTED, user=None, actor=staff, **_facts(transfer))
    return transfer


def _facts(transfer: ColdWalletTransfer) -> dict[str, str | int]:
    return {"transfer": transfer.pk, "asset": transfer.asset.code, "direction": transfer.direction,
            "amount": f"{transfer.amount:f}"}  # fmt: skip


def approve_transfer(*, transfer_id: int, staff: User) -> ColdWalletTransfer:
    """The second approval of a large refill: by treasury staff other than whoever asked for it."""
    if not staff.has_perm("wallets.change_coldwallettransfer"):
        raise Forbidden("Only treasury staff can approve transfers.")
    with transaction.atomic(durable=True):
        transfer = lock_cold_transfer(transfer_id=transfer_id)
        if transfer.status != ColdWalletTransferStatus.REQUESTED:
            raise Conflict(f"This transfer is {transfer.get_status_display().lower()}.")
        if transfer.requested_by_id == staff.pk:
            raise Forbidden("A second approval comes from someone else than the requester.")
        transfer.approved_by = staff
        transfer.save(update_fields=["approved_by"])
        audit.record(AuditAction.TREASURY_APPROVED, user=None, actor=staff, **_facts(transfer))
    return transfer


def execute_transfer(*, transfer_id: int, staff: User | None) -> ColdWalletTransfer:
    """Move the funds out of the source wallet into transit and broadcast (staff, or the automatic sweep)."""
    if staff is not None and not staff.has_perm("wallets.change_coldwallettransfer"):
        raise Forbidden("Only treasury staff can execute transfers.")
    with transaction.atomic(durable=True):
        lock_refill_window()  # two refills executed at once each count the other
        transfer = lock_cold_transfer(transfer_id=transfer_id)
        if transfer.status != ColdWalletTransferStatus.REQUESTED:
            raise Conflict(f"This transfer is {transfer.get_status_display().lower()}: it was executed before.")
        if staff is None and not transfer.automatic:
            raise Forbidden("Only the automatic sweep runs without a staff member.")
        if _needs_second_approval(transfer):
            if transfer.approved_by_id is None:
                raise Conflict("This refill needs a second approval before it is executed.")
            if staff is not None and transfer.approved_by_id == staff.pk:
                raise Forbidden("The approver and the executor of a large refill are two different people.")
        source, _ = _accounts(transfer.asset, transfer.direction)
        transit = ledger.account(asset=transfer.asset, kind=AccountKind.IN_TRANSIT)
        available = lock_accounts(account_ids=[source.pk])[source.pk].balance
        if available < transfer.amount:
            raise Conflict(
                f"The {source.get_kind_display().lower()} holds {money.trimmed(available)} {transfer.asset.code}, "
                f"less than {money.trimmed(transfer.amount)}."
            )
        ledger.post_entry(
            kind=EntryKind.SWEEP if transfer.direction == ColdWalletTransferDirection.TO_COLD else EntryKind.REFILL,
            idempotency_key=f"cold-transfer:{transfer.pk}:send",
            legs=ledger.move(source, transit, transfer.amount),
            reference=f"cold-transfer:{transfer.pk}",
        )
        transfer.status = ColdWalletTransferStatus.IN_TRANSIT
        transfer.executed_by = staff
        transfer.executed_at = timezone.now()
        transfer.save(update_fields=["status", "executed_by", "executed_at"])
        if staff is not None:
            audit.record(AuditAction.TREASURY_EXECUTED, user=None, actor=staff, **_facts(transfer))
    # Broadcast outside the transaction; the funds are booked as in transit already.
    target = (
        transfer.asset.cold_wallet.address
        if transfer.direction == ColdWalletTransferDirection.TO_COLD
        else f"hot-{transfer.asset.code.lower()}-wallet"
    )
    try:
        txid = adapter_for(transfer.asset).send(asset=transfer.asset, address=target, amount=transfer.amount)
    except Exception:
        logger.exception("broadcasting cold-wallet transfer %s failed; returning the funds", transfer.pk)
        return _return_from_transit(transfer_id=transfer.pk)
    ColdWalletTransfer.objects.filter(pk=transfer.pk).update(txid=txid)
    transfer.txid = txid
    return transfer


def _return_from_transit(*, transfer_id: int) -> ColdWalletTransfer:
    """A transfer whose broadcast failed never left: book it back into its source wallet, once."""
    with transaction.atomic(durable=True):
        transfer = lock_cold_transfer(transfer_id=transfer_id)
        if transfer.status != ColdWalletTransferStatus.IN_TRANSIT or transfer.txid:
            return transfer
        source, _ = _accounts(transfer.asset, transfer.direction)
        transit = ledger.account(asset=transfer.asset, kind=AccountKind.IN_TRANSIT)
        ledger.post_entry(
            kind=EntryKind.ARRIVAL,
            idempotency_key=f"cold-transfer:{transfer.pk}:return",
            legs=ledger.move(transit, source, transfer.amount),
            reference=f"cold-transfer:{transfer.pk}",
            memo="broadcast failed",
        )
        transfer.status = ColdWalletTransferStatus.CANCELLED
        transfer.save(update_fields=["status"])
    return transfer


def settle_transfer(*, transfer_id: int) -> bool:
    """Book a confirmed transfer into its target wallet; return whether this call did it."""
    with transaction.atomic(durable=True):
        transfer = lock_cold_transfer(transfer_id=transfer_id)
        if transfer.status != ColdWalletTransferStatus.IN_TRANSIT or not transfer.txid:
            return False
        asset = transfer.asset
        if adapter_for(asset).confirmations(asset=asset, txid=transfer.txid) < asset.confirmations_required:
            return False
        _, target = _accounts(asset, transfer.direction)
        transit = ledger.account(asset=asset, kind=AccountKind.IN_TRANSIT)
        ledger.post_entry(
            kind=EntryKind.ARRIVAL,
            idempotency_key=f"cold-transfer:{transfer.pk}:arrive",
            legs=ledger.move(transit, target, transfer.amount),
            reference=f"cold-transfer:{transfer.pk}",
        )
        transfer.status = ColdWalletTransferStatus.COMPLETED
        transfer.completed_at = timezone.now()
        transfer.save(update_fields=["status", "completed_at"])
    return True


def rebalance(*, asset: Asset) -> ColdWalletTransfer | None:
    """Sweep the excess above the ceiling to cold, or ask treasury for a refill below the floor."""
    if not ColdWallet.objects.filter(asset=asset).exists():
        return None
    if ColdWalletTransfer.objects.filter(asset=asset, status__in=OPEN_TRANSFER).exists():
        return None  # one movement at a time per asset
    where = position(asset=asset)
    if where.hot > where.ceiling:
        transfer = request_transfer(
            asset=asset,
            direction=ColdWalletTransferDirection.TO_COLD,
            amount=money.EXACT.subtract(where.hot, where.target),
            staff=None,
            automatic=True,
        )
        try:
            return execute_transfer(transfer_id=transfer.pk, staff=None)
        except Conflict:
            logger.warning("automatic sweep %s waits for a second approval", transfer.pk)
            return transfer
    if where.hot < where.floor:
        return request_transfer(
            asset=asset,
            direction=ColdWalletTransferDirection.TO_HOT,
            amount=money.EXACT.subtract(where.target, where.hot),
            staff=None,
            automatic=True,
        )
    return None


def rebalance_all() -> int:
    """Settle confirmed hot/cold transfers, then sweep or request refills, asset by asset; return how many settled."""
    settled = 0
    for pk in ColdWalletTransfer.objects.filter(status=ColdWalletTransferStatus.IN_TRANSIT).values_list(
        "pk", flat=True
    ):
        settled += settle_transfer(transfer_id=pk)
    for asset in Asset.objects.all():
        try:
            rebalance(asset=asset)
        except Exception:  # one asset's trouble must not stop the others
            logger.exception("rebalancing %s failed", asset.code)
    return settled


# --- Cold-wallet addresses ------------------------------------------------------------------------


def _change_facts(change: ColdWalletAddressChange) -> dict[str, str | int]:
    return {"change": change.pk, "asset": change.asset.code, "old_address": change.old_address,
            "new_address": change.new_address}  # fmt: skip


def plan_cold_address_change(*, asset: Asset, address: str) -> str:
    """Check a new cold-wallet address asked for; return it cleaned, or raise ValidationFailed (or Conflict).

    It must look like an address, differ from the current one (as the asset's network compares
    addresses), be none of the exchange's deposit addresses, and no other change may be waiting.
    """
    address = address.strip()

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, details={"address": [message]})

    if not ADDRESS_PATTERN.match(address):
        raise refuse("This is not a valid address.")
    network = adapter_for(asset)
    current = ColdWallet.objects.filter(asset=asset).values_list("address", flat=True).first()
    if current and network.normalize_address(address=current) == network.normalize_address(address=address):
        raise refuse(f"This is the {asset.code} cold wallet's address already.")
    if services.deposit_address_owner(address=address) is not None:
        raise refuse("This is a deposit address of this exchange, not a cold wallet.")
    if ColdWalletAddressChange.objects.filter(asset=asset, status=ColdWalletAddressChangeStatus.PENDING).exists():
        raise _change_waiting(asset)
    return address


def _change_waiting(asset: Asset) -> Conflict:
    return Conflict(
        f"A change of the {asset.code} cold wallet's address waits for approval: approve or reject it first."
    )


def request_cold_address_change(*, asset: Asset, address: str, staff: User) -> ColdWalletAddressChange:
    """Ask for a new cold-wallet address; it applies only when a second treasury member approves it."""
    if not staff.has_perm("wallets.add_coldwalletaddresschange"):
        raise Forbidden("Only treasury staff can change cold-wallet addresses.")
    address = plan_cold_address_change(asset=asset, address=address)
    current = ColdWallet.objects.filter(asset=asset).values_list("address", flat=True).first() or ""
    try:
        # The request and its audit row commit together (not durable: the admin's add page runs it in its own).
        with transaction.atomic():
            change = ColdWalletAddressChange.objects.create(
                asset=asset, old_address=current, new_address=address, requested_by=staff
            )
            audit.record(AuditAction.COLD_WALLET_CHANGE_REQUESTED, user=None, actor=staff, **_change_facts(change))
    except IntegrityError:
        raise _change_waiting(asset) from None  # two requests raced: the database let one in
    return change


def approve_cold_address_change(*, change_id: int, staff: User) -> ColdWalletAddressChange:
    """Apply a requested cold-wallet address: the second approval, by treasury staff other than the requester."""
    if not staff.has_perm("wallets.change_coldwalletaddresschange"):
        raise Forbidden("Only treasury staff can approve cold-wallet address changes.")
    with transaction.atomic(durable=True):
        change = lock_cold_address_change(change_id=change_id)
        if change.status != ColdWalletAddressChangeStatus.PENDING:
            raise Conflict(f"This change is {change.get_status_display().lower()}.")
        if change.requested_by_id == staff.pk:
            raise Forbidden("The second approval of an address change comes from someone else than the requester.")
        wallet = lock_cold_wallet(asset_id=change.asset_id)
        if (wallet.address if wallet else "") != change.old_address:
            raise Conflict("The cold wallet's address changed since this was asked for: reject it and ask again.")
        if wallet is None:
            ColdWallet.objects.create(asset_id=change.asset_id, address=change.new_address, label="cold")
        else:
            wallet.address = change.new_address
            wallet.save(update_fields=["address"])
        change.status = ColdWalletAddressChangeStatus.APPLIED
        change.decided_by, change.decided_at = staff, timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(AuditAction.COLD_WALLET_CHANGED, user=None, actor=staff, **_change_facts(change))
    return change


def reject_cold_address_change(*, change_id: int, staff: User) -> ColdWalletAddressChange:
    """Turn down a requested cold-wallet address (the requester withdrawing it, or a colleague); the address stays."""
    if not staff.has_perm("wallets.change_coldwalletaddresschange"):
        raise Forbidden("Only treasury staff can reject cold-wallet address changes.")
    with transaction.atomic(durable=True):
        change = lock_cold_address_change(change_id=change_id)
        if change.status != ColdWalletAddressChangeStatus.PENDING:
            raise Conflict(f"This change is {change.get_status_display().lower()}.")
        change.status = ColdWalletAddressChangeStatus.REJECTED
        change.decided_by, change.decided_at = staff, timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(AuditAction.COLD_WALLET_CHANGE_REJECTED, user=None, actor=staff, **_change_facts(change))
    return change
