from __future__ import annotations

from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        from trading.audit import order_and_trade_problems, order_claims
        from wallets import audit

        if order_claims not in audit.LOCK_CLAIMS:
            audit.LOCK_CLAIMS.append(order_claims)
        if order_and_trade_problems not in audit.EXTRA_CHECKS:
            audit.EXTRA_CHECKS.append(order_and_trade_problems)
