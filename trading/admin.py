"""Markets are edited here (status, fees, steps); orders and trades are read-only records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from trading.models import Market, Order, Trade
from wallets.admin import ReadOnlyAdmin


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("symbol", "status", "algorithm", "tick_size", "lot_size", "min_notional", "maker_fee_rate",
                    "taker_fee_rate", "last_price", "book_seq")  # fmt: skip
    list_filter = ("status", "algorithm")
    readonly_fields = ("symbol", "last_price", "book_seq", "engine_epoch")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A market's assets and steps are fixed once it exists: open orders are priced in them.
        fixed = ("base", "quote", "tick_size", "lot_size", "algorithm") if obj is not None else ()
        return tuple(self.readonly_fields) + fixed

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "market", "user", "side", "type", "price", "quantity", "filled_quantity", "status",
                    "created_at")  # fmt: skip
    list_filter = ("status", "market", "side", "type")
    search_fields = ("=id", "user__username", "client_order_id")
    list_select_related = ("market", "user")


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = ("id", "market", "price", "quantity", "taker_side", "maker_user", "taker_user", "created_at")
    list_filter = ("market", "taker_side")
    search_fields = ("=id", "=maker_order__id", "=taker_order__id")
    list_select_related = ("market", "maker_user", "taker_user")
