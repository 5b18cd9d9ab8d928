"""The compliance policy: what a user's verification level allows, as compliance set it in the admin.

Every "may this user deposit / trade / withdraw, and how much" in the exchange is answered here, from
the `LevelLimit` row of the user's level (data edited in the admin; `kyc/limits.py` seeds the defaults:
level 0 deposits, level 1 also trades and withdraws up to its daily limit, level 2 has higher limits).
Trading, wallets and the permission helpers ask; none of them knows a level number, so a switch
flipped in the admin holds from the next request on.

A level without a row allows nothing: deleting a row closes that level, it never opens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from accounts.models import User
from exchange.core.errors import DomainError
from kyc.models import AmlFlag, FlagStatus, KycLevel, LevelLimit


class KycRequired(DomainError):
    """The user's level may not do this; `details` name their level and the next one that may (or None)."""

    code = "kyc_required"
    status_code = 403
    default_message = "This needs a verified account."


class Activity(Enum):
    """What a level may be allowed to do; the value is the `LevelLimit` switch that allows it."""

    DEPOSIT = "can_deposit"
    TRADE = "can_trade"
    WITHDRAW = "can_withdraw"


# How a refusal begins: "<needs> a verified account (level 1)", or "<is not open> to accounts at level 2".
_NEEDS = {Activity.DEPOSIT: "Deposits need", Activity.TRADE: "Trading needs", Activity.WITHDRAW: "Withdrawals need"}
_CLOSED = {
    Activity.DEPOSIT: "Deposits are not open",
    Activity.TRADE: "Trading is not open",
    Activity.WITHDRAW: "Withdrawals are not open",
}


@dataclass(frozen=True)
class WithdrawalLimits:
    """What a level may withdraw: a rolling 24 h total, and the value above which staff review each one."""

    daily_usdt: Decimal
    review_threshold_usdt: Decimal


def _limits_from(level: int) -> list[LevelLimit]:
    """Return the rows of `level` and the levels above it, lowest first (one query answers and explains)."""
    return list(LevelLimit.objects.filter(level__gte=level).order_by("level"))


def _own_row(rows: list[LevelLimit], level: int, activity: Activity) -> LevelLimit | None:
    """Return the row of `level` if it allows `activity`."""
    return next((row for row in rows if row.level == level and getattr(row, activity.value)), None)


def _refusal(rows: list[LevelLimit], level: int, activity: Activity) -> KycRequired:
    """Explain the refusal: the next level up that allows `activity`, or that none does."""
    required = next((row.level for row in rows if row.level > level and getattr(row, activity.value)), None)
    if required is None:
        message = f"{_CLOSED[activity]} to accounts at level {level}."
    else:
        name = KycLevel(required).label.lower()
        message = (
            f"{_NEEDS[activity]} a {name} account (level {required}); yours is at level {level}. "
            "Complete your verification at /kyc."
        )
    return KycRequired(message, details={"required_level": required, "kyc_level": level})


def refusal(user: User, activity: Activity) -> KycRequired | None:
    """Return the error saying why `user` may not do `activity` (and what would allow it), or None if allowed."""
    rows = _limits_from(user.kyc_level)
    return None if _own_row(rows, user.kyc_level, activity) else _refusal(rows, user.kyc_level, activity)


def require(user: User, activity: Activity) -> None:
    """Raise KycRequired (403 `kyc_required`, with the level that would allow it) unless `user` may do `activity`."""
    error = refusal(user, activity)
    if error is not None:
        raise error


def can_trade(user: User) -> bool:
    """Whether the user's level may place orders (cancelling is always allowed: it only gives funds back)."""
    return refusal(user, Activity.TRADE) is None


def can_deposit(user: User) -> bool:
    """Whether the user's level may be shown a deposit address and have deposits credited."""
    return refusal(user, Activity.DEPOSIT) is None


def withdrawal_limits(user: User) -> WithdrawalLimits:
    """Return what the user's level may withdraw; raise KycRequired when it may not withdraw at all."""
    rows = _limits_from(user.kyc_level)
    row = _own_row(rows, user.kyc_level, Activity.WITHDRAW)
    if row is None:
        raise _refusal(rows, user.kyc_level, Activity.WITHDRAW)
    return WithdrawalLimits(daily_usdt=row.daily_withdrawal_limit, review_threshold_usdt=row.review_threshold)


def review_reason(*, user: User, value_usdt: Decimal) -> str:
    """Return why a withdrawal worth `value_usdt` waits for staff review, or an empty string.

    Asked when the withdrawal is confirmed, which may be a while after it was requested: a level whose
    withdrawals compliance switched off meanwhile sends it to review rather than to the payout.
    """
    try:
        limits = withdrawal_limits(user)
    except KycRequired:
        return f"withdrawals are not open to level {user.kyc_level} any more"
    if value_usdt > limits.review_threshold_usdt:
        return f"worth {value_usdt} USDT, above the review threshold of {limits.review_threshold_usdt} USDT"
    if AmlFlag.objects.filter(user_id=user.pk, status__in=[FlagStatus.OPEN, FlagStatus.ESCALATED]).exists():
        return "the account has open AML flags"
    return ""
