"""Markets are edited here (status, fees, steps); orders and trades are read-only records."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from exchange.core.admin import ReadOnlyAdmin, format_amount
from trading.models import Market, Order, Trade


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


class AtMarketPrecision:
    """Prices at the quote asset's precision, quantities at the base's, with separators (not 18 decimals)."""

    @admin.display(description="Price", ordering="price")
    def price_shown(self, row: Order | Trade) -> SafeString | str:
        return "—" if row.price is None else _amount(row.price, row.market.quote.decimals)

    @admin.display(description="Quantity", ordering="quantity")
    def quantity_shown(self, row: Order | Trade) -> SafeString | str:
        return "—" if row.quantity is None else _amount(row.quantity, row.market.base.decimals)


def _amount(value: Decimal, decimals: int) -> SafeString:
    return format_html('<span class="money">{}</span>', format_amount(value, decimals=decimals))


@admin.register(Order)
class OrderAdmin(AtMarketPrecision, ReadOnlyAdmin):
    list_display = ("id", "market", "user", "side", "type", "price_shown", "quantity_shown", "filled_shown",
                    "status", "created_at")  # fmt: skip
    list_filter = ("status", "market", "side", "type")
    search_fields = ("=id", "user__username", "client_order_id")
    list_select_related = ("market__base", "market__quote", "user")

    @admin.display(description="Filled", ordering="filled_quantity")
    def filled_shown(self, order: Order) -> SafeString:
        return _amount(order.filled_quantity, order.market.base.decimals)


@admin.register(Trade)
class TradeAdmin(AtMarketPrecision, ReadOnlyAdmin):
    list_display = ("id", "market", "price_shown", "quantity_shown", "taker_side", "maker_user", "taker_user",
                    "created_at")  # fmt: skip
    list_filter = ("market", "taker_side")
    search_fields = ("=id", "=maker_order__id", "=taker_order__id")
    list_select_related = ("market__base", "market__quote", "maker_user", "taker_user")
