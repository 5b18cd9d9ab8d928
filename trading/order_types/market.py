"""Market orders: take what the book offers now, never rest.

A sell is sized by quantity. A buy is sized by quantity, and then holds the cost of walking the
resting asks plus the market's protection band (and never spends more), or by what to spend in the
quote asset (`quote_quantity`), which is then both its hold and its budget.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, Decimal, localcontext

from exchange.core import money
from exchange.core.errors import DomainError, ValidationFailed
from trading.engine import Order as EngineOrder
from trading.engine.settlement import EXPIRED, FILLED, Live
from trading.engine.spec import MarketSpec
from trading.models import RESTING_STATUSES, Market, Order, Side, TimeInForce
from trading.order_types import BOTH_SIDES, OrderKind, OrderRequest, ValidOrder, given, refuse
from wallets.models import Asset

NAME = "market"


class NoLiquidity(DomainError):
    code = "no_liquidity"
    status_code = 409
    default_message = "There is nothing on the other side of the book to trade with."


def market_buy_hold(market: Market, quantity: Decimal) -> Decimal:
    """What a market buy of `quantity` holds: the cost of walking the resting asks, plus the protection band.

    The engine never lets the order spend more than this, so it is also the order's price protection.
    """
    cost = Decimal(0)
    needed = quantity
    worst: Decimal | None = None
    asks = (
        Order.objects.filter(market=market, side=Side.SELL, status__in=RESTING_STATUSES)
        .order_by("price", "seq")
        .values_list("price", "quantity", "filled_quantity")
    )
    with localcontext(money.MONEY):  # products of two stored amounts need more than 28 digits
        for price, total, filled in asks.iterator(chunk_size=200):
            worst = price
            take = min(needed, total - filled)
            cost += take * price
            needed -= take
            if needed <= 0:
                break
        if worst is None:
            raise NoLiquidity("No one is selling: place a limit order instead.")
        cost += needed * worst  # a thinner book than asked for: the rest is bounded at the worst price seen
        hold = cost * (1 + market.market_buy_protection)
    if hold >= money.LIMIT:
        message = f"Buying {quantity:f} {market.base} would cost too much: the hold must be below 10^18."
        raise ValidationFailed(message, details={"quantity": [message]})
    return money.quantize(hold, market.quote.decimals, rounding=ROUND_CEILING)


class MarketOrder(OrderKind):
    name = NAME
    label = "Market"
    position = 20
    uses = {"quantity": BOTH_SIDES, "quote_quantity": ("buy",)}
    rests = False

    def validate(self, request: OrderRequest, market: Market, order: ValidOrder) -> ValidOrder:
        if request.price not in (None, ""):
            raise refuse("price", "A market order has no price.")
        if order.post_only:
            raise refuse("post_only", "A market order always takes: it cannot be post-only.")
        if order.side == Side.SELL and order.quote_quantity is not None:
            raise refuse("quote_quantity", "A market sell is sized by quantity.")
        if (order.quantity is None) == (order.quote_quantity is None):
            raise refuse("quantity", "A market buy needs either quantity or quote_quantity (not both).")
        quote_quantity = order.quote_quantity
        if quote_quantity is not None:
            if money.quantize(quote_quantity, market.quote.decimals) != quote_quantity:
                raise refuse("quote_quantity", f"{market.quote} has at most {market.quote.decimals} decimals.")
            if quote_quantity < market.min_notional:
                message = f"quote_quantity is below the minimum of {market.min_notional.normalize():f} {market.quote}."
                raise refuse("quote_quantity", message)
        # A market order never rests: good-till-cancelled means immediate-or-cancel for it.
        time_in_force = TimeInForce.IOC if order.time_in_force == TimeInForce.GTC else order.time_in_force
        return replace(order, time_in_force=time_in_force)

    def hold(self, market: Market, order: ValidOrder) -> tuple[Asset, Decimal]:
        if order.side == Side.SELL:
            return market.base, given(order.quantity)
        if order.quote_quantity is not None:
            return market.quote, order.quote_quantity
        return market.quote, market_buy_hold(market, given(order.quantity))

    def engine_order(self, live: Live, spec: MarketSpec) -> EngineOrder:
        order = super().engine_order(live, spec)
        if live.is_buy:
            # The hold is the most it may spend; sized in quote, that is all it is (at least one tick
            # per lot: it can never buy more lots than its budget).
            order.quote_budget = spec.affordable(live.hold_remaining)
            if live.quote_sized:
                order.quantity = order.quote_budget
        return order

    def expiry(self, live: Live, spec: MarketSpec) -> tuple[str, str]:
        # A buy whose money ran out before the next lot: sized in quote, that is a filled order; sized
        # in base, the hold (the cost of the book plus the protection band) stopped it.
        if live.is_buy and live.filled_quantity and spec.affordable(live.hold_remaining) < live.last_price_ticks:
            return (FILLED, "") if live.quote_sized else (EXPIRED, "price_protection")
        return super().expiry(live, spec)
