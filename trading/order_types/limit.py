"""Limit orders: a price and a quantity; whatever does not fill at once rests on the book at that price."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, Decimal

from exchange.core import money
from trading.models import Market, Side, TimeInForce
from trading.order_types import BOTH_SIDES, OrderKind, OrderRequest, ValidOrder, amount, given, on_step, refuse
from wallets.models import Asset

NAME = "limit"


class Limit(OrderKind):
    name = NAME
    label = "Limit"
    position = 10
    uses = {"price": BOTH_SIDES, "quantity": BOTH_SIDES, "post_only": BOTH_SIDES}

    def validate(self, request: OrderRequest, market: Market, order: ValidOrder) -> ValidOrder:
        if request.price in (None, ""):
            raise refuse("price", "A limit order needs a price.")
        price = on_step(amount(request.price, "price"), market.tick_size, "price", "tick size")
        if order.quantity is None:
            raise refuse("quantity", "A limit order needs a quantity.")
        if order.quote_quantity is not None:
            raise refuse("quote_quantity", "Only market buys can be sized in the quote asset.")
        notional = money.multiply(price, order.quantity)
        if notional >= money.LIMIT:
            raise refuse(
                "quantity", f"The order's value ({notional:.3E} {market.quote}) is too large: it must be below 10^18."
            )
        if notional < market.min_notional:
            raise refuse(
                "quantity",
                f"The order's value is below the minimum of {market.min_notional.normalize():f} {market.quote}.",
            )
        if order.post_only and order.time_in_force != TimeInForce.GTC:
            raise refuse("post_only", "A post-only order rests on the book: use GTC.")
        return replace(order, price=price)

    def hold(self, market: Market, order: ValidOrder) -> tuple[Asset, Decimal]:
        if order.side == Side.SELL:
            return market.base, given(order.quantity)
        cost = money.multiply(given(order.price), given(order.quantity))
        return market.quote, money.quantize(cost, market.quote.decimals, rounding=ROUND_CEILING)
