"""The default level limits, created when missing (by migration 0002, by bootstrap, and by tests)."""

from __future__ import annotations

from decimal import Decimal

from kyc.models import LevelLimit

DEFAULT_LEVEL_LIMITS = [
    # level, deposit, trade, withdraw, daily withdrawal limit (USDT), manual review above (USDT)
    (0, True, False, False, Decimal("0"), Decimal("0")),
    (1, True, True, True, Decimal("10000"), Decimal("5000")),
    (2, True, True, True, Decimal("250000"), Decimal("50000")),
]


def ensure_default_limits() -> None:
    """Create the levels that have no limits row; never change an existing one."""
    for level, deposit, trade, withdraw, limit, review in DEFAULT_LEVEL_LIMITS:
        LevelLimit.objects.get_or_create(
            level=level,
            defaults={
                "can_deposit": deposit,
                "can_trade": trade,
                "can_withdraw": withdraw,
                "daily_withdrawal_limit": limit,
                "review_threshold": review,
            },
        )
