"""Writes for wallets: holds, transfers, deposits. Every balance change is a ledger entry.

`hold` and `release` join the caller's transaction (order placement and withdrawals build on them);
the others own a durable transaction. Side effects (notifications, AML events' rules) run on commit.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction, User
from exchange.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from exchange.core.money import multiply, quantize
from exchange.core.queue import enqueue_on_commit
from kyc import policy
from kyc.aml import flag_deposit_not_credited, record_event
from kyc.models import AmlEventKind
from wallets import ledger
from wallets.lock_objects import lock_accounts, lock_deposit
from wallets.models import (
    AccountKind,
    Asset,
    Deposit,
    DepositAddress,
    DepositStatus,
    EntryKind,
    JournalEntry,
)
from wallets.networks import SimulatedNetwork, adapter_for

logger = logging.getLogger(__name__)


class InsufficientFunds(DomainError):
    code = "insufficient_funds"
    status_code = 400
    default_message = "Not enough available funds."


class AssetUnavailable(DomainError):
    code = "asset_unavailable"
    status_code = 400
    default_message = "This asset is not available for this operation."


def asset_by_code(code: str, *, field: str = "asset") -> Asset:
    asset = Asset.objects.filter(code=str(code).strip().upper()).first()
    if asset is None:
        raise NotFound(f"Unknown asset {code!r}.", details={field: ["Unknown asset."]})
    return asset


def _require_available(*, current: Decimal, amount: Decimal, asset: Asset) -> None:
    """Raise InsufficientFunds unless `current`, the balance of the locked available account, covers `amount`."""
    if current < amount:
        raise InsufficientFunds(
            f"Not enough {asset.code}: {current.normalize():f} available, {amount.normalize():f} needed.",
            details={"available": f"{current:f}", "required": f"{amount:f}"},
        )


def hold(*, user_id: int, asset: Asset, amount: Decimal, idempotency_key: str, reference: str = "") -> JournalEntry:
    """Move funds from the user's available to locked balance (joins the caller's transaction)."""
    with transaction.atomic():
        available, locked = ledger.user_accounts(user_id=user_id, asset=asset)
        # Both accounts in id order before anything else: the engine locks them in that order too.
        current = lock_accounts(account_ids=[available.pk, locked.pk])[available.pk].balance
        _require_available(current=current, amount=amount, asset=asset)
        return ledger.post_entry(
            kind=EntryKind.HOLD,
            idempotency_key=idempotency_key,
            legs=ledger.move(available, locked, amount),
            reference=reference,
        )


def release(*, user_id: int, asset: Asset, amount: Decimal, idempotency_key: str, reference: str = "") -> JournalEntry:
    """Move funds back from locked to available (joins the caller's transaction)."""
    with transaction.atomic():
        available, locked = ledger.user_accounts(user_id=user_id, asset=asset)
        return ledger.post_entry(
            kind=EntryKind.RELEASE,
            idempotency_key=idempotency_key,
            legs=ledger.move(locked, available, amount),
            reference=reference,
        )


def transfer(
    *, from_user_id: int, to_user_id: int, asset: Asset, amount: Decimal, idempotency_key: str
) -> JournalEntry:
    """Move available funds from one user to another, inside the exchange."""
    if from_user_id == to_user_id:
        raise Conflict("A transfer needs two different users.")
    with transaction.atomic(durable=True):
        source, _ = ledger.user_accounts(user_id=from_user_id, asset=asset)
        target, _ = ledger.user_accounts(user_id=to_user_id, asset=asset)
        current = lock_accounts(account_ids=[source.pk, target.pk])[source.pk].balance
        _require_available(current=current, amount=amount, asset=asset)
        return ledger.post_entry(
            kind=EntryKind.TRANSFER,
            idempotency_key=idempotency_key,
            legs=ledger.move(source, target, amount),
            reference=f"user:{from_user_id}->user:{to_user_id}",
        )


# --- Deposits --------------------------------------------------------------------------------------


def deposit_address(*, user_id: int, asset: Asset) -> DepositAddress:
    """Return the user's deposit address for an asset, creating it the first time.

    A user whose level may not deposit is refused (KycRequired), even an address they had: what is
    sent to it anyway is held, not lost (see `_credit_locked`).
    """
    policy.require(User.objects.get(pk=user_id), policy.Activity.DEPOSIT)
    existing = DepositAddress.objects.filter(user_id=user_id, asset=asset).first()
    if existing is not None:
        return existing
    if not asset.deposit_enabled:
        raise AssetUnavailable(f"Deposits of {asset.code} are suspended.")
    address = adapter_for(asset).new_address(asset=asset)
    created, _ = DepositAddress.objects.get_or_create(user_id=user_id, asset=asset, defaults={"address": address})
    return created


def deposit_address_owner(*, address: str) -> int | None:
    """Return the id of the user whose deposit address this is, in any spelling its network accepts.

    Each address is compared the way its own network compares addresses (`normalize_address`): an
    EVM one in any letter case, a base58 one exactly. Those fold at most the case, so a lookup by
    case-insensitive equality (indexed) finds every candidate.
    """
    for candidate in DepositAddress.objects.filter(address__iexact=address).select_related("asset"):
        network = adapter_for(candidate.asset)
        if network.normalize_address(address=candidate.address) == network.normalize_address(address=address):
            return candidate.user_id
    return None


def simulate_incoming_deposit(*, user_id: int, asset: Asset, amount: Decimal) -> Deposit:
    """Demo and tests: someone sends `amount` to the user's address on the simulated network."""
    if not settings.SIMULATED_DEPOSITS:
        raise Conflict("Simulated deposits are off on this exchange.", details={"code": "simulation_off"})
    if not asset.deposit_enabled:
        raise AssetUnavailable(f"Deposits of {asset.code} are suspended.")
    network = adapter_for(asset)
    if not isinstance(network, SimulatedNetwork):
        raise Conflict(f"{asset.code} runs on a real network: send funds to your deposit address.")
    address = deposit_address(user_id=user_id, asset=asset)
    txid = network.receive(asset=asset, address=address.address, amount=amount)
    return Deposit.objects.create(
        user_id=user_id, asset=asset, address=address, amount=amount, txid=txid, vout=0, confirmations=0
    )


def fund_demo_account(*, user_id: int, asset: Asset, amount: Decimal) -> Deposit:
    """Demo data: a simulated deposit, confirmed and credited at once (bootstrap, the demo market maker)."""
    deposit = simulate_incoming_deposit(user_id=user_id, asset=asset, amount=amount)
    Deposit.objects.filter(pk=deposit.pk).update(confirmations=asset.confirmations_required)
    credit_deposit(deposit_id=deposit.pk)
    return deposit


def record_seen_deposits(*, asset: Asset) -> list[int]:
    """Ask the network what reached our addresses; record new deposits and confirmations.

    Returns the ids of deposits that now have enough confirmations to be credited.
    """
    addresses = {a.address: a for a in DepositAddress.objects.filter(asset=asset)}
    if not addresses:
        return []
    ready = []
    for seen in adapter_for(asset).incoming_transfers(asset=asset, addresses=set(addresses)):
        owner = addresses[seen.address]
        deposit, created = Deposit.objects.get_or_create(
            asset=asset,
            txid=seen.txid,
            vout=seen.vout,
            defaults={
                "user_id": owner.user_id,
                "address": owner,
                "amount": seen.amount,
                "confirmations": seen.confirmations,
            },
        )
        if not created and deposit.status == DepositStatus.CONFIRMING and deposit.confirmations != seen.confirmations:
            Deposit.objects.filter(pk=deposit.pk, status=DepositStatus.CONFIRMING).update(
                confirmations=seen.confirmations
            )
        if deposit.status == DepositStatus.CONFIRMING and seen.confirmations >= asset.confirmations_required:
            ready.append(deposit.pk)
    return ready


def hold_deposit(*, deposit_id: int, reason: str) -> bool:
    """Stop trying a deposit that could not be credited: held for treasury with the reason, flagged, told.

    Its own transaction, after the crediting one rolled back (no money moved). Returns whether it was
    held by this call (False: credited or held meanwhile).
    """
    reason = reason[:300]
    with transaction.atomic(durable=True):
        deposit = lock_deposit(deposit_id=deposit_id)
        if deposit.status != DepositStatus.CONFIRMING:
            return False
        deposit.status = DepositStatus.HELD
        deposit.hold_reason = reason
        deposit.save(update_fields=["status", "hold_reason"])
        flag_deposit_not_credited(
            user_id=deposit.user_id,
            deposit_id=deposit.pk,
            summary=f"Deposit #{deposit.pk} of {deposit.amount.normalize():f} {deposit.asset_id} could not be "
            f"credited and is held: {reason}",
            details={"txid": deposit.txid, "reason": reason},
        )
        enqueue_on_commit("wallets.tasks.notify_deposit_held", deposit.pk)
    return True


def retry_held_deposit(*, staff: User, deposit_id: int) -> bool:
    """Treasury credits a held deposit again (after a fix); if it fails again it stays held with the new reason.

    One transaction: the decision, its audit row (with what came of it) and the credit, or the new reason.
    The deposit is never left confirming in between, where a scan would take it. Returns True once
    credited; raises Conflict when it is still held.
    """
    if not staff.has_perm("wallets.review_deposit"):
        raise Forbidden("Only treasury staff can retry held deposits.")
    with transaction.atomic(durable=True):
        deposit = lock_deposit(deposit_id=deposit_id)
        if deposit.status != DepositStatus.HELD:
            raise Conflict(f"Deposit #{deposit.pk} is {deposit.get_status_display().lower()}, not held.")
        try:
            with transaction.atomic():  # a savepoint: a credit that fails half-way leaves nothing behind
                _credit_locked(deposit)
        except Exception as error:
            reason = failure_text(error)
            # Still held, as the user already knows: only the reason changes, nobody is told again.
            Deposit.objects.filter(pk=deposit.pk).update(hold_reason=reason)
            audit.record(
                AuditAction.DEPOSIT_RETRIED,
                user=deposit.user,
                actor=staff,
                deposit=deposit.pk,
                outcome="held",
                reason=reason,
            )
            logger.error("crediting held deposit %s failed again: %s", deposit_id, reason, exc_info=error)
        else:
            audit.record(
                AuditAction.DEPOSIT_RETRIED, user=deposit.user, actor=staff, deposit=deposit.pk, outcome="credited"
            )
            return True
    raise Conflict(f"Deposit #{deposit_id} still cannot be credited: {reason}")


def reject_held_deposit(*, staff: User, deposit_id: int, reason: str) -> Deposit:
    """Treasury gives up on a held deposit (returned to its sender off the books, say); the user is told why."""
    if not staff.has_perm("wallets.review_deposit"):
        raise Forbidden("Only treasury staff can reject held deposits.")
    if not reason.strip():
        raise ValidationFailed("Give the reason: the user sees it.", details={"reason": ["This field is required."]})
    with transaction.atomic(durable=True):
        deposit = lock_deposit(deposit_id=deposit_id)
        if deposit.status != DepositStatus.HELD:
            raise Conflict(f"Deposit #{deposit.pk} is {deposit.get_status_display().lower()}, not held.")
        deposit.status = DepositStatus.REJECTED
        deposit.hold_reason = reason.strip()[:300]
        deposit.save(update_fields=["status", "hold_reason"])
        audit.record(AuditAction.DEPOSIT_REJECTED, user=deposit.user, actor=staff, deposit=deposit.pk, reason=reason)
        enqueue_on_commit("wallets.tasks.notify_deposit_held", deposit.pk)
    return deposit


def value_usdt(*, asset: Asset, amount: Decimal) -> Decimal:
    """What an amount is worth in USDT at the asset's reference price, in cents (limits, AML, review)."""
    return quantize(multiply(amount, asset.reference_price_usdt), 2)


def failure_text(error: Exception) -> str:
    """What went wrong, in a line: the exception's type and message."""
    return f"{type(error).__name__}: {error}".strip().rstrip(":")[:250]


def credit_deposit(*, deposit_id: int) -> bool:
    """Credit a confirmed deposit to the user, exactly once (however often, however concurrently, asked).

    Returns whether this call credited it (False: it was credited before).
    """
    with transaction.atomic(durable=True):
        deposit = lock_deposit(deposit_id=deposit_id)
        if deposit.status == DepositStatus.CREDITED:
            return False
        if deposit.status != DepositStatus.CONFIRMING:  # held or rejected: treasury decides, not a scan
            raise Conflict(f"Deposit #{deposit.pk} is {deposit.get_status_display().lower()}: treasury decides it.")
        _credit_locked(deposit)
    return True


def _credit_locked(deposit: Deposit) -> None:
    """Post a locked deposit to its user's balance, inside the caller's transaction.

    Raises KycRequired when the user's level may not deposit (compliance switched it off, or the
    address was given out before): funds that arrived on chain cannot be refused, and crediting them
    would bypass the policy, so the deposit fails here and the scan holds it, through the held-deposit
    path (a flag for compliance, the user told). Treasury credits it once the level allows deposits,
    or rejects it to return it. Nothing is credited, nothing is lost.
    """
    asset = deposit.asset
    if deposit.confirmations < asset.confirmations_required:
        raise Conflict(
            f"Deposit #{deposit.pk} has {deposit.confirmations} of {asset.confirmations_required} confirmations."
        )
    policy.require(deposit.user, policy.Activity.DEPOSIT)
    hot = ledger.account(asset=asset, kind=AccountKind.HOT_WALLET)
    available, _ = ledger.user_accounts(user_id=deposit.user_id, asset=asset)
    entry = ledger.post_entry(
        kind=EntryKind.DEPOSIT,
        idempotency_key=f"deposit:{deposit.pk}",
        legs=[ledger.increase(hot, deposit.amount), ledger.increase(available, deposit.amount)],
        reference=f"deposit:{deposit.pk}",
        memo=f"{deposit.txid}:{deposit.vout}",
    )
    deposit.status = DepositStatus.CREDITED
    deposit.entry = entry
    deposit.credited_at = timezone.now()
    deposit.save(update_fields=["status", "entry", "credited_at"])
    record_event(
        user_id=deposit.user_id,
        kind=AmlEventKind.DEPOSIT_CREDITED,
        asset=asset.code,
        amount=deposit.amount,
        value_usdt=value_usdt(asset=asset, amount=deposit.amount),
        reference=f"deposit:{deposit.pk}",
    )
    enqueue_on_commit("wallets.tasks.notify_deposit_credited", deposit.pk)


def scan_deposits() -> int:
    """Record what reached our deposit addresses and credit what is confirmed; return how many credited.

    A deposit that cannot be credited is held for treasury (hold_deposit), never tried again by the
    next scan, and does not stop the others.
    """
    credited = 0
    for asset in Asset.objects.filter(deposit_enabled=True):
        network = adapter_for(asset)
        if isinstance(network, SimulatedNetwork) and settings.SIMULATED_MINING:
            network.mine(asset=asset)  # the simulated chain moves on as time passes
        for deposit_id in record_seen_deposits(asset=asset):
            try:
                credited += credit_deposit(deposit_id=deposit_id)
            except Exception as error:  # one bad deposit must not stop the others, nor be tried forever
                logger.exception("crediting deposit %s failed: held for treasury", deposit_id)
                try:
                    hold_deposit(deposit_id=deposit_id, reason=failure_text(error))
                except Exception:  # the database itself is failing: the next scan tries both again
                    logger.exception("holding deposit %s failed too", deposit_id)
    return credited
