from __future__ import annotations

from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        # The ledger audit learns about orders and trades once the apps (and their models) are ready.
        from trading.audit import order_and_trade_problems, order_claims  # noqa: PLC0415
        from wallets import audit  # noqa: PLC0415

        if order_claims not in audit.LOCK_CLAIMS:
            audit.LOCK_CLAIMS.append(order_claims)
        if order_and_trade_problems not in audit.EXTRA_CHECKS:
            audit.EXTRA_CHECKS.append(order_and_trade_problems)
