"""How trading's records read on a page: amounts to the market's tick and lot, orders and fills as rows.

The trade page and the dashboard show the same orders and fills, so both build their rows here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from accounts.models import User
from exchange.core import money
from trading import order_types
from trading.models import Market, Order, Side, Trade

# Why an order ended, in words (the engine records a code in Order.reason).
REASONS = {
    "cancelled": "Cancelled by you",
    "self_trade_prevention": "Self-trade prevention",
    "post_only_would_take": "Post-only: it would have taken",
    "immediate_or_cancel": "Rest not filled at once (IOC)",
    "fill_or_kill": "Could not fill in full (FOK)",
    "price_protection": "Price protection reached",
    "market_changed": "The market's price or quantity step changed before it was matched",
}


def places_of(step: Decimal) -> int:
    """Return how many decimals a step such as 0.0100 has once normalized (2)."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def trim(amount: Decimal, places: int, keep: int) -> str:
    """Format at `places` decimals, then drop trailing zeros down to `keep` decimals."""
    text = money.plain(amount, places)
    if "." not in text:
        return text if keep == 0 else f"{text}.{'0' * keep}"
    whole, fraction = text.split(".")
    fraction = fraction.rstrip("0").ljust(keep, "0")
    return f"{whole}.{fraction}" if fraction else whole


@dataclass(frozen=True)
class Formats:
    """How a market's amounts are shown: prices to the tick, quantities to the lot, at most the asset's decimals."""

    market: Market

    @property
    def price_places(self) -> int:
        return min(places_of(self.market.tick_size), self.market.quote.decimals)

    @property
    def quantity_places(self) -> int:
        return min(places_of(self.market.lot_size), self.market.base.decimals)

    def price(self, amount: Decimal | None) -> str:
        return "" if amount is None else trim(amount, self.market.quote.decimals, self.price_places)

    def base(self, amount: Decimal | None) -> str:
        return "" if amount is None else trim(amount, self.market.base.decimals, self.quantity_places)

    def quote(self, amount: Decimal | None) -> str:
        return self.price(amount)

    def of_asset(self, amount: Decimal, asset_id: int) -> str:
        return self.base(amount) if asset_id == self.market.base_id else self.quote(amount)


@dataclass(frozen=True)
class OrderRow:
    id: int
    symbol: str
    pair: str
    side: str
    type: str
    price: str
    quantity: str
    filled: str
    average_price: str
    status: str
    status_label: str
    reason: str
    cancelling: bool
    created_at: datetime


@dataclass(frozen=True)
class FillRow:
    order_id: int
    symbol: str
    pair: str
    side: str
    role: str
    price: str
    quantity: str
    fee: str
    fee_asset: str
    time: datetime


def order_row(order: Order, formats: Formats) -> OrderRow:
    if order.quantity is None:  # a market buy sized in the quote asset
        quantity = f"{formats.quote(order.quote_quantity)} {formats.market.quote.code}"
    else:
        quantity = formats.base(order.quantity)
    market = formats.market
    return OrderRow(
        id=order.pk,
        symbol=market.symbol,
        pair=f"{market.base.code}/{market.quote.code}",
        side=order.side,
        type=order_types.label(order.type),
        price="Market" if order.price is None else formats.price(order.price),
        quantity=quantity,
        filled=formats.base(order.filled_quantity),
        average_price=formats.price(order.average_price),
        status=order.status,
        status_label=order.get_status_display(),
        reason=REASONS.get(order.reason, order.reason.replace("_", " ")),
        cancelling=order.cancel_seq is not None and order.is_live,
        created_at=order.created_at,
    )


def fill_row(trade: Trade, user: User, formats: Formats) -> FillRow:
    maker = trade.maker_user_id == user.pk
    order = trade.maker_order if maker else trade.taker_order
    fee_asset = formats.market.base if order.side == Side.BUY else formats.market.quote
    return FillRow(
        order_id=order.pk,
        symbol=formats.market.symbol,
        pair=f"{formats.market.base.code}/{formats.market.quote.code}",
        side=order.side,
        role="Maker" if maker else "Taker",
        price=formats.price(trade.price),
        quantity=formats.base(trade.quantity),
        fee=formats.of_asset(trade.maker_fee if maker else trade.taker_fee, fee_asset.pk),
        fee_asset=fee_asset.code,
        time=trade.created_at,
    )
