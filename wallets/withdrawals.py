"""Withdrawals: a state machine whose every step is one transaction, and whose hold ends exactly once.

    requested ─▶ awaiting_confirmation ─(email link)─▶ pending_review ─(staff)─▶ approved
                                         └──────────────(no review needed)──────────▲
    approved ─▶ waiting_hot_wallet (until treasury refills) ─▶ processing ─▶ completed
    awaiting_confirmation | pending_review | approved | waiting_hot_wallet ─▶ cancelled | rejected
    processing ─(broadcast failed)─▶ failed (refunded)

The request holds the amount (available → locked). Processing pays out of the hot wallet in one
entry (locked → hot, fee to revenue) before anything is broadcast, so concurrent payouts can never
overdraw the hot wallet (its balance cannot go below zero). Cancelling, rejecting and failing
return the funds with an entry whose idempotency key is per withdrawal: it can happen once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from accounts import audit
from accounts.lock_objects import lock_user
from accounts.models import AuditAction, User
from accounts.services import OtpRequired, has_two_factor, verify_second_factor
from exchange.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from exchange.core.money import parse_amount
from exchange.core.queue import enqueue_on_commit
from kyc import policy
from kyc.aml import record_event
from kyc.models import AmlEventKind
from wallets import ledger, notifications, services
from wallets.lock_objects import lock_accounts, lock_withdrawal
from wallets.models import (
    HOLDING_WITHDRAWAL_STATUSES,
    AccountKind,
    Asset,
    EntryKind,
    WalletSettings,
    Withdrawal,
    WithdrawalAddress,
    WithdrawalStatus,
)
from wallets.networks import adapter_for

SEND_CONFIRMATION = "wallets.tasks.send_withdrawal_confirmation"
PROCESS = "wallets.tasks.process_withdrawal_task"
ADDRESS_PATTERN = re.compile(r"^[A-Za-z0-9:_\-]{8,128}$")
CANCELLABLE = frozenset(HOLDING_WITHDRAWAL_STATUSES)


class WithdrawalsLocked(DomainError):
    code = "withdrawals_locked"
    status_code = 403
    default_message = "Withdrawals are locked for 24 hours after a security change."


class LimitExceeded(DomainError):
    code = "limit_exceeded"
    status_code = 400
    default_message = "This withdrawal is above your daily limit."


class AddressNotAllowed(DomainError):
    code = "address_not_allowed"
    status_code = 403
    default_message = "Whitelist mode is on: withdraw only to addresses in your address book for 24 h or more."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def withdrawn_last_24h(*, user_id: int) -> Decimal:
    """USDT value of the user's withdrawals of the last 24 h that were not given back."""
    since = timezone.now() - timedelta(hours=24)
    total: Decimal | None = (
        Withdrawal.objects.filter(user_id=user_id, requested_at__gte=since)
        .exclude(status__in=[WithdrawalStatus.REJECTED, WithdrawalStatus.CANCELLED, WithdrawalStatus.FAILED])
        .aggregate(total=Sum("value_usdt"))["total"]
    )
    return total or Decimal("0")


def _check_address(*, user: User, asset: Asset, address: str) -> str:
    address = address.strip()
    if not ADDRESS_PATTERN.match(address):
        raise ValidationFailed("This is not a valid address.", details={"address": ["This is not a valid address."]})
    if services.deposit_address_owner(address=address) is not None:
        raise ValidationFailed(
            "This is a deposit address of this exchange: use a transfer instead.",
            details={"address": ["A deposit address of this exchange."]},
        )
    settings_row = WalletSettings.objects.filter(user=user).first()
    if settings_row is not None and settings_row.whitelist_only:
        cutoff = timezone.now() - timedelta(hours=settings.WITHDRAWAL_NEW_ADDRESS_HOURS)
        if not WithdrawalAddress.objects.filter(
            user=user, asset=asset, address=address, created_at__lte=cutoff
        ).exists():
            raise AddressNotAllowed()
    return address


def request_withdrawal(
    *, user: User, asset: Asset, amount: object, address: str, otp: str | None, client_id: str = ""
) -> Withdrawal:
    """Validate, check limits and 2FA, then hold the funds; returns the withdrawal awaiting confirmation.

    A `client_id` seen before for this user is a double submit: refused, nothing changes.
    """
    if not asset.withdraw_enabled:
        raise services.AssetUnavailable(f"Withdrawals of {asset.code} are suspended.")
    value = parse_amount(amount, asset=asset)
    if value < asset.min_withdrawal:
        message = f"The minimum withdrawal is {asset.min_withdrawal.normalize():f} {asset.code}."
        raise ValidationFailed(message, details={"amount": [message]})
    if value <= asset.withdrawal_fee:
        message = f"The amount must be above the fee of {asset.withdrawal_fee.normalize():f} {asset.code}."
        raise ValidationFailed(message, details={"amount": [message]})
    address = _check_address(user=user, asset=asset, address=address)
    client_id = client_id.strip()[:64]
    _refuse_double_submit(user=user, client_id=client_id)

    limits = policy.withdrawal_limits(user)
    if user.security_changed_at and timezone.now() - user.security_changed_at < timedelta(
        hours=settings.WITHDRAWAL_LOCK_HOURS
    ):
        unlock = user.security_changed_at + timedelta(hours=settings.WITHDRAWAL_LOCK_HOURS)
        raise WithdrawalsLocked(details={"locked_until": unlock.isoformat()})
    if has_two_factor(user):
        if not otp:
            raise OtpRequired("A current code from your authenticator app is required to withdraw.")
        verify_second_factor(user=user, code=otp)

    token = secrets.token_urlsafe(32)
    value_usdt = services.value_usdt(asset=asset, amount=value)
    with transaction.atomic(durable=True):
        lock_user(user_id=user.pk)  # one user's requests one at a time: the limit check stays true
        _refuse_double_submit(user=user, client_id=client_id)
        used = withdrawn_last_24h(user_id=user.pk)
        if used + value_usdt > limits.daily_usdt:
            left = max(limits.daily_usdt - used, Decimal("0")).quantize(Decimal("0.01"))
            raise LimitExceeded(
                f"This is worth {value_usdt} USDT; {left} USDT of your {limits.daily_usdt} USDT daily limit is left.",
                details={"limit_usdt": str(limits.daily_usdt), "left_usdt": str(left)},
            )
        needs_email = settings.WITHDRAWAL_EMAIL_CONFIRMATION
        withdrawal = Withdrawal.objects.create(
            user=user,
            asset=asset,
            amount=value,
            fee=asset.withdrawal_fee,
            address=address,
            value_usdt=value_usdt,
            status=WithdrawalStatus.AWAITING_CONFIRMATION if needs_email else WithdrawalStatus.APPROVED,
            confirmation_token_hash=_hash(token) if needs_email else "",
            client_id=client_id,
        )
        services.hold(
            user_id=user.pk,
            asset=asset,
            amount=value,
            idempotency_key=f"withdrawal:{withdrawal.pk}:hold",
            reference=f"withdrawal:{withdrawal.pk}",
        )
        record_event(
            user_id=user.pk,
            kind=AmlEventKind.WITHDRAWAL_REQUESTED,
            asset=asset.code,
            amount=value,
            value_usdt=value_usdt,
            reference=f"withdrawal:{withdrawal.pk}",
        )
        audit.record(
            AuditAction.WITHDRAWAL_REQUESTED, user=user, withdrawal=withdrawal.pk, asset=asset.code, amount=f"{value:f}"
        )
        if needs_email:
            enqueue_on_commit(SEND_CONFIRMATION, withdrawal.pk, token)
        else:
            _after_approval(withdrawal)
    return withdrawal


def _refuse_double_submit(*, user: User, client_id: str) -> None:
    if not client_id:
        return
    earlier = Withdrawal.objects.filter(user=user, client_id=client_id).values_list("pk", flat=True).first()
    if earlier is not None:
        raise Conflict(
            f"This withdrawal was submitted already (#{earlier}).",
            details={"code": "duplicate_submit", "withdrawal_id": earlier},
        )


class ResendTooSoon(DomainError):
    code = "too_many_requests"
    status_code = 429
    default_message = "A confirmation email was just sent: wait a minute before asking for another."


def resend_confirmation(*, user: User, withdrawal_id: int) -> Withdrawal:
    """Send a new confirmation link (the earlier ones stop working); at most one a minute."""
    with transaction.atomic(durable=True):
        withdrawal = lock_withdrawal(withdrawal_id=withdrawal_id)
        if withdrawal.user_id != user.pk:
            raise NotFound("No such withdrawal.")
        if withdrawal.status != WithdrawalStatus.AWAITING_CONFIRMATION:
            raise Conflict(f"This withdrawal is {withdrawal.get_status_display().lower()}: nothing to confirm.")
        seconds = settings.WITHDRAWAL_RESEND_SECONDS
        if not cache.add(f"withdrawal-resend:{withdrawal.pk}", 1, timeout=seconds):
            raise ResendTooSoon(retry_after=seconds)
        token = secrets.token_urlsafe(32)
        withdrawal.confirmation_token_hash = _hash(token)
        withdrawal.confirmation_sent_at = None
        withdrawal.save(update_fields=["confirmation_token_hash", "confirmation_sent_at", "updated_at"])
        enqueue_on_commit(SEND_CONFIRMATION, withdrawal.pk, token)
    return withdrawal


def mark_confirmation_sent(*, withdrawal_id: int, token: str) -> bool:
    """Record that the email with this token went out; False if a newer link replaced it."""
    return bool(
        Withdrawal.objects.filter(
            pk=withdrawal_id, status=WithdrawalStatus.AWAITING_CONFIRMATION, confirmation_token_hash=_hash(token)
        ).update(confirmation_sent_at=timezone.now())
    )


def confirmation_is_current(*, withdrawal_id: int, token: str) -> bool:
    return Withdrawal.objects.filter(
        pk=withdrawal_id, status=WithdrawalStatus.AWAITING_CONFIRMATION, confirmation_token_hash=_hash(token)
    ).exists()


def confirmation_link(withdrawal_id: int, token: str) -> str:
    return f"{settings.SITE_URL}{reverse('wallets:withdrawal-confirm', args=[withdrawal_id])}?token={token}"


def send_confirmation(*, withdrawal_id: int, token: str) -> bool:
    """Email the link that confirms a withdrawal (the token exists only in this email); return if sent.

    A link replaced by a newer one (the user asked again) is not sent. A mail server that fails raises,
    for the job to try again; until the email is handed over, the withdrawal's page says it is on its way.
    """
    if not confirmation_is_current(withdrawal_id=withdrawal_id, token=token):
        return False
    withdrawal = Withdrawal.objects.select_related("user", "asset").get(pk=withdrawal_id)
    email = notifications.withdrawal_confirmation(withdrawal, link=confirmation_link(withdrawal.pk, token))
    send_mail(subject=email.subject, message=email.body, from_email=None, recipient_list=[withdrawal.user.email])
    return mark_confirmation_sent(withdrawal_id=withdrawal_id, token=token)


def _after_approval(withdrawal: Withdrawal) -> None:
    """Send a withdrawal to review, or on to the payout, from inside the caller's transaction."""
    reason = policy.review_reason(user=withdrawal.user, value_usdt=withdrawal.value_usdt)
    withdrawal.status = WithdrawalStatus.PENDING_REVIEW if reason else WithdrawalStatus.APPROVED
    withdrawal.review_reason = reason
    withdrawal.save(update_fields=["status", "review_reason", "updated_at"])
    if not reason:
        enqueue_on_commit(PROCESS, withdrawal.pk)


def confirm_withdrawal(*, withdrawal_id: int, token: str) -> Withdrawal:
    """The user followed the email link: the withdrawal goes to review or to the payout."""
    with transaction.atomic(durable=True):
        withdrawal = lock_withdrawal(withdrawal_id=withdrawal_id)
        if withdrawal.status != WithdrawalStatus.AWAITING_CONFIRMATION:
            raise Conflict(f"This withdrawal is {withdrawal.get_status_display().lower()}: nothing to confirm.")
        if not token or not secrets.compare_digest(_hash(token), withdrawal.confirmation_token_hash):
            raise Forbidden("This confirmation link is not valid.", details={"code": "bad_token"})
        _after_approval(withdrawal)
    return withdrawal


def _give_back(withdrawal: Withdrawal, status: str, reason: str) -> Withdrawal:
    """End a withdrawal that still holds funds, returning them; inside the caller's transaction."""
    services.release(
        user_id=withdrawal.user_id,
        asset=withdrawal.asset,
        amount=withdrawal.amount,
        idempotency_key=f"withdrawal:{withdrawal.pk}:release",
        reference=f"withdrawal:{withdrawal.pk}",
    )
    withdrawal.status = status
    withdrawal.failure_reason = reason
    withdrawal.save(update_fields=["status", "failure_reason", "updated_at"])
    _notify(withdrawal)
    return withdrawal


def cancel_withdrawal(*, user: User, withdrawal_id: int) -> Withdrawal:
    with transaction.atomic(durable=True):
        withdrawal = lock_withdrawal(withdrawal_id=withdrawal_id)
        if withdrawal.user_id != user.pk:
            raise NotFound()
        if withdrawal.status not in CANCELLABLE:
            raise Conflict(
                f"This withdrawal is {withdrawal.get_status_display().lower()}: it can no longer be cancelled."
            )
        return _give_back(withdrawal, WithdrawalStatus.CANCELLED, "Cancelled by the user.")


def review_withdrawal(*, staff: User, withdrawal_id: int, approve: bool, reason: str = "") -> Withdrawal:
    """Staff decide a withdrawal held for review: approve it on to the payout, or reject and refund it."""
    if not staff.has_perm("wallets.review_withdrawal"):
        raise Forbidden("Only compliance staff can review withdrawals.")
    if not approve and not reason.strip():
        raise ValidationFailed("Give the reason: the user sees it.", details={"reason": ["This field is required."]})
    with transaction.atomic(durable=True):
        withdrawal = lock_withdrawal(withdrawal_id=withdrawal_id)
        if withdrawal.status != WithdrawalStatus.PENDING_REVIEW:
            raise Conflict(f"This withdrawal is {withdrawal.get_status_display().lower()}, not pending review.")
        withdrawal.reviewed_by = staff
        action = AuditAction.WITHDRAWAL_APPROVED if approve else AuditAction.WITHDRAWAL_REJECTED
        audit.record(action, user=withdrawal.user, actor=staff, withdrawal=withdrawal.pk, reason=reason.strip())
        if not approve:
            withdrawal.save(update_fields=["reviewed_by", "updated_at"])
            return _give_back(withdrawal, WithdrawalStatus.REJECTED, reason.strip())
        withdrawal.status = WithdrawalStatus.APPROVED
        withdrawal.save(update_fields=["status", "reviewed_by", "updated_at"])
        enqueue_on_commit(PROCESS, withdrawal.pk)
    return withdrawal


def process_withdrawal(*, withdrawal_id: int) -> Withdrawal:
    """Pay an approved withdrawal out of the hot wallet and broadcast it; wait if the hot wallet is short."""
    with transaction.atomic(durable=True):
        withdrawal = lock_withdrawal(withdrawal_id=withdrawal_id)
        if withdrawal.status not in {WithdrawalStatus.APPROVED, WithdrawalStatus.WAITING_HOT_WALLET}:
            return withdrawal  # processed before, or not ready: nothing to do
        asset = withdrawal.asset
        hot = ledger.account(asset=asset, kind=AccountKind.HOT_WALLET)
        hot_balance = lock_accounts(account_ids=[hot.pk])[hot.pk].balance
        if hot_balance < withdrawal.net_amount:
            if withdrawal.status != WithdrawalStatus.WAITING_HOT_WALLET:
                withdrawal.status = WithdrawalStatus.WAITING_HOT_WALLET
                withdrawal.save(update_fields=["status", "updated_at"])
                _notify(withdrawal)
            return withdrawal
        _, locked = ledger.user_accounts(user_id=withdrawal.user_id, asset=asset)
        legs = [ledger.decrease(locked, withdrawal.amount), ledger.decrease(hot, withdrawal.net_amount)]
        if withdrawal.fee:
            legs.append(ledger.increase(ledger.account(asset=asset, kind=AccountKind.FEE_REVENUE), withdrawal.fee))
        ledger.post_entry(
            kind=EntryKind.WITHDRAWAL,
            idempotency_key=f"withdrawal:{withdrawal.pk}:payout",
            legs=legs,
            reference=f"withdrawal:{withdrawal.pk}",
            memo=withdrawal.address,
        )
        withdrawal.status = WithdrawalStatus.PROCESSING
        withdrawal.save(update_fields=["status", "updated_at"])

    # Network I/O happens outside any transaction; the payout is already on the books.
    try:
        txid = adapter_for(asset).send(asset=asset, address=withdrawal.address, amount=withdrawal.net_amount)
    except Exception as error:
        return _fail_broadcast(withdrawal_id=withdrawal.pk, reason=f"Broadcast failed: {error}"[:300])
    with transaction.atomic(durable=True):
        withdrawal = lock_withdrawal(withdrawal_id=withdrawal_id)
        withdrawal.status = WithdrawalStatus.COMPLETED
        withdrawal.txid = txid
        withdrawal.completed_at = timezone.now()
        withdrawal.save(update_fields=["status", "txid", "completed_at", "updated_at"])
        _notify(withdrawal)
    return withdrawal


def _fail_broadcast(*, withdrawal_id: int, reason: str) -> Withdrawal:
    """Undo a payout that never left: hot wallet and fee back, funds back to the user, once."""
    with transaction.atomic(durable=True):
        withdrawal = lock_withdrawal(withdrawal_id=withdrawal_id)
        if withdrawal.status != WithdrawalStatus.PROCESSING:
            return withdrawal
        asset = withdrawal.asset
        hot = ledger.account(asset=asset, kind=AccountKind.HOT_WALLET)
        available, _ = ledger.user_accounts(user_id=withdrawal.user_id, asset=asset)
        legs = [ledger.increase(hot, withdrawal.net_amount), ledger.increase(available, withdrawal.amount)]
        if withdrawal.fee:
            legs.append(ledger.decrease(ledger.account(asset=asset, kind=AccountKind.FEE_REVENUE), withdrawal.fee))
        ledger.post_entry(
            kind=EntryKind.WITHDRAWAL,
            idempotency_key=f"withdrawal:{withdrawal.pk}:refund",
            legs=legs,
            reference=f"withdrawal:{withdrawal.pk}",
            memo=reason,
        )
        withdrawal.status = WithdrawalStatus.FAILED
        withdrawal.failure_reason = reason
        withdrawal.save(update_fields=["status", "failure_reason", "updated_at"])
        _notify(withdrawal)
    return withdrawal


def retry_waiting() -> int:
    """Try again the withdrawals that wait for the hot wallet (after a refill, say); return how many went on."""
    waiting = Withdrawal.objects.filter(status=WithdrawalStatus.WAITING_HOT_WALLET).order_by("pk")
    return sum(
        process_withdrawal(withdrawal_id=pk).status != WithdrawalStatus.WAITING_HOT_WALLET
        for pk in waiting.values_list("pk", flat=True)
    )


def _notify(withdrawal: Withdrawal) -> None:
    enqueue_on_commit("wallets.tasks.notify_withdrawal_status", withdrawal.pk, withdrawal.status)


# --- The address book ---------------------------------------------------------------------------------


def add_address(*, user: User, asset: Asset, address: str, label: str = "") -> WithdrawalAddress:
    """Add an address to the user's book (usable in whitelist mode after WITHDRAWAL_NEW_ADDRESS_HOURS)."""
    address = address.strip()
    if not ADDRESS_PATTERN.match(address):
        raise ValidationFailed("This is not a valid address.", details={"address": ["Not a valid address."]})
    try:
        with transaction.atomic():
            return WithdrawalAddress.objects.create(user=user, asset=asset, address=address, label=label.strip())
    except IntegrityError:
        raise Conflict("This address is in your address book already.") from None


def set_whitelist_only(*, user: User, enabled: bool, otp: str | None) -> WalletSettings:
    """Turn whitelist mode on, or off with a current code (turning it off is an intruder's first move)."""
    if not enabled and has_two_factor(user):
        if not otp:
            raise OtpRequired("A current code is required to turn the whitelist off.")
        verify_second_factor(user=user, code=otp)
    row, _ = WalletSettings.objects.update_or_create(user=user, defaults={"whitelist_only": enabled})
    return row
