"""What trading tells its clients, in one place: each REST response and stream message with its schema.

An order, a fill, a book, a public trade, a candle or a ticker is written by one function here,
whether it leaves as a REST response, as a message of the WebSocket stream, or in the engine's
batch events, so a client finds the same fields written the same way on every channel. The
OpenAPI declaration of each shape sits next to the function that builds it. Builders only shape
what was read (models, selectors' and marketdata's values); they never read the database.
Amounts and prices are strings at their asset's places; times are what the caller gives (a
datetime the JSON encoder writes, or the engine's commit time in milliseconds).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from exchange.core.money import plain, trimmed
from trading import order_types
from trading.marketdata import CandleRow, ExchangeStats, Ticker
from trading.models import (
    Market,
    MarketStatus,
    MatchingAlgorithm,
    Order,
    SelfTradePrevention,
    Side,
    TimeInForce,
    Trade,
)
from trading.selectors import BookSnapshot


def _optional(value: Decimal | None, places: int) -> str | None:
    return None if value is None else plain(value, places)


# --- orders and fills (REST and the stream's `user` channel) ----------------------------------


class OrderSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=Side.choices)
    type = serializers.ChoiceField(choices=order_types.choices())
    price = serializers.CharField(allow_null=True)
    quantity = serializers.CharField(allow_null=True)
    quote_quantity = serializers.CharField(allow_null=True)
    time_in_force = serializers.ChoiceField(choices=TimeInForce.choices)
    post_only = serializers.BooleanField()
    self_trade_prevention = serializers.ChoiceField(choices=SelfTradePrevention.choices)
    client_order_id = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    filled_quantity = serializers.CharField()
    filled_quote = serializers.CharField()
    average_price = serializers.CharField(allow_null=True)
    fee = serializers.CharField()
    fee_asset = serializers.CharField()
    cancel_requested = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def order_payload(order: Order) -> dict[str, Any]:
    """Return an order as its owner sees it; its market and assets should be loaded with it."""
    market = order.market
    base, quote = market.base.decimals, market.quote.decimals
    average = order.average_price
    return {
        "id": order.pk,
        "symbol": market.symbol,
        "side": order.side,
        "type": order.type,
        "price": _optional(order.price, quote),
        "quantity": _optional(order.quantity, base),
        "quote_quantity": _optional(order.quote_quantity, quote),
        "time_in_force": order.time_in_force,
        "post_only": order.post_only,
        "self_trade_prevention": order.self_trade_prevention,
        "client_order_id": order.client_order_id or None,
        "status": order.status,
        "filled_quantity": plain(order.filled_quantity, base),
        "filled_quote": plain(order.filled_quote, quote),
        "average_price": None if average is None else plain(average, quote),
        "fee": plain(order.fee, base if order.side == Side.BUY else quote),
        "fee_asset": (market.base if order.side == Side.BUY else market.quote).code,
        "cancel_requested": order.cancel_seq is not None,
        "reason": order.reason or None,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


CANCEL_ALL_SCHEMA = inline_serializer("CancelAll", {"cancel_requested": serializers.IntegerField()})


def cancel_all_payload(count: int) -> dict[str, Any]:
    """Return the answer to a cancel of all live orders: how many cancels were requested."""
    return {"cancel_requested": count}


FILL_SCHEMA = inline_serializer(
    "Fill",
    {
        "id": serializers.IntegerField(),
        "symbol": serializers.CharField(),
        "order_id": serializers.IntegerField(),
        "side": serializers.CharField(),
        "role": serializers.ChoiceField(choices=["maker", "taker"]),
        "price": serializers.CharField(),
        "quantity": serializers.CharField(),
        "quote_quantity": serializers.CharField(),
        "fee": serializers.CharField(),
        "fee_asset": serializers.CharField(),
        "time": serializers.DateTimeField(),
    },
    many=True,
)


def fill_payload(trade: Trade, user_id: int) -> dict[str, Any]:
    """Return a trade as one of its two parties sees it: their order, side, role and fee."""
    market = trade.market
    maker = trade.maker_user_id == user_id
    order = trade.maker_order if maker else trade.taker_order
    side = order.side
    fee_asset = market.base if side == Side.BUY else market.quote
    return {
        "id": trade.pk,
        "symbol": market.symbol,
        "order_id": order.pk,
        "side": side,
        "role": "maker" if maker else "taker",
        "price": plain(trade.price, market.quote.decimals),
        "quantity": plain(trade.quantity, market.base.decimals),
        "quote_quantity": plain(trade.quote_quantity, market.quote.decimals),
        "fee": plain(trade.maker_fee if maker else trade.taker_fee, fee_asset.decimals),
        "fee_asset": fee_asset.code,
        "time": trade.created_at,
    }


# --- the public book and trades (REST, the stream's snapshots and the engine's deltas) ----------

ORDER_BOOK_SCHEMA = inline_serializer(
    "OrderBook",
    {
        "symbol": serializers.CharField(),
        "seq": serializers.IntegerField(),
        "bids": serializers.ListField(child=serializers.ListField(child=serializers.CharField())),
        "asks": serializers.ListField(child=serializers.ListField(child=serializers.CharField())),
    },
)


def book_levels(levels: list[tuple[Decimal, Decimal]], price_places: int, quantity_places: int) -> list[list[str]]:
    """Return price levels as [price, quantity] pairs, in the order given (a delta's 0 removes a level)."""
    return [[plain(price, price_places), plain(quantity, quantity_places)] for price, quantity in levels]


def book_payload(market: Market, book: BookSnapshot) -> dict[str, Any]:
    """Return a snapshot of the book with the `seq` it reflects, as REST and a `book:` subscription give it."""
    base, quote = market.base.decimals, market.quote.decimals
    return {
        "symbol": market.symbol,
        "seq": book.seq,
        "bids": book_levels(book.bids, quote, base),
        "asks": book_levels(book.asks, quote, base),
    }


class PublicTrade(Protocol):
    """What anyone may know of a trade: a stored one (`Trade`) or one the engine just made."""

    @property
    def id(self) -> int: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def taker_side(self) -> str: ...


PUBLIC_TRADE_SCHEMA = inline_serializer(
    "PublicTrade",
    {
        "id": serializers.IntegerField(),
        "price": serializers.CharField(),
        "quantity": serializers.CharField(),
        "taker_side": serializers.ChoiceField(choices=Side.choices),
        "time": serializers.DateTimeField(),
    },
    many=True,
)


def public_trade_payload(
    trade: PublicTrade, time: datetime | float, price_places: int, quantity_places: int
) -> dict[str, Any]:
    """Return a trade as the market's public trades list it, at `time` (its own, or its batch's commit)."""
    return {
        "id": trade.id,
        "price": plain(trade.price, price_places),
        "quantity": plain(trade.quantity, quantity_places),
        "taker_side": trade.taker_side,
        "time": time,
    }


# --- market data (REST, the stream's ticker on subscribing, the engine's candles and tickers) ---

PRICE = serializers.CharField(allow_null=True)

PAIR_SCHEMA = inline_serializer(
    "Pair",
    {
        "symbol": serializers.CharField(),
        "base": serializers.CharField(),
        "quote": serializers.CharField(),
        "status": serializers.ChoiceField(choices=MarketStatus.choices),
        "tick_size": serializers.CharField(),
        "lot_size": serializers.CharField(),
        "min_quantity": serializers.CharField(),
        "min_notional": serializers.CharField(),
        "maker_fee_rate": serializers.CharField(),
        "taker_fee_rate": serializers.CharField(),
        "algorithm": serializers.ChoiceField(choices=MatchingAlgorithm.choices),
        "base_decimals": serializers.IntegerField(),
        "quote_decimals": serializers.IntegerField(),
    },
    many=True,
)


def pair_payload(market: Market) -> dict[str, Any]:
    """Return a market with its rules and status."""
    return {
        "symbol": market.symbol,
        "base": market.base.code,
        "quote": market.quote.code,
        "status": market.status,
        "tick_size": trimmed(market.tick_size),
        "lot_size": trimmed(market.lot_size),
        "min_quantity": trimmed(market.min_quantity),
        "min_notional": trimmed(market.min_notional),
        "maker_fee_rate": trimmed(market.maker_fee_rate),
        "taker_fee_rate": trimmed(market.taker_fee_rate),
        "algorithm": market.algorithm,
        "base_decimals": market.base.decimals,
        "quote_decimals": market.quote.decimals,
    }


PRICE_SCHEMA = inline_serializer("Price", {"symbol": serializers.CharField(), "price": PRICE}, many=True)


def price_payload(market: Market) -> dict[str, Any]:
    """Return a market's last trade price (null before its first trade)."""
    return {
        "symbol": market.symbol,
        "price": _optional(market.last_price, market.quote.decimals),
    }


TICKER_SCHEMA = inline_serializer(
    "Ticker",
    {
        "symbol": serializers.CharField(),
        "open": PRICE,
        "high": PRICE,
        "low": PRICE,
        "last": PRICE,
        "volume": serializers.CharField(),
        "quote_volume": serializers.CharField(),
        "trades": serializers.IntegerField(),
        "change_percent": PRICE,
        "best_bid": PRICE,
        "best_ask": PRICE,
    },
)


def ticker_payload(ticker: Ticker, price_places: int, quantity_places: int) -> dict[str, Any]:
    """Return a market's 24-hour ticker; a market that has a price but no change in the period shows 0.00%."""
    change = ticker.change_percent
    return {
        "symbol": ticker.symbol,
        "open": _optional(ticker.open, price_places),
        "high": _optional(ticker.high, price_places),
        "low": _optional(ticker.low, price_places),
        "last": _optional(ticker.last, price_places),
        "volume": plain(ticker.volume, quantity_places),
        "quote_volume": plain(ticker.quote_volume, price_places),
        "trades": ticker.trades,
        "change_percent": plain(change, 2) if change is not None else ("0.00" if ticker.last is not None else None),
        "best_bid": _optional(ticker.best_bid, price_places),
        "best_ask": _optional(ticker.best_ask, price_places),
    }


CANDLE_SCHEMA = inline_serializer(
    "Candle",
    {
        "start": serializers.DateTimeField(),
        "open": serializers.CharField(),
        "high": serializers.CharField(),
        "low": serializers.CharField(),
        "close": serializers.CharField(),
        "volume": serializers.CharField(),
        "quote_volume": serializers.CharField(),
        "trades": serializers.IntegerField(),
    },
    many=True,
)


def candle_payload(row: CandleRow, price_places: int, quantity_places: int) -> dict[str, Any]:
    """Return a candle; its start is written here (not by an encoder) as the engine's messages are text already."""
    return {
        "start": row.start.isoformat().replace("+00:00", "Z"),
        "open": plain(row.open, price_places),
        "high": plain(row.high, price_places),
        "low": plain(row.low, price_places),
        "close": plain(row.close, price_places),
        "volume": plain(row.volume, quantity_places),
        "quote_volume": plain(row.quote_volume, price_places),
        "trades": row.trades,
    }


STATS_SCHEMA = inline_serializer(
    "ExchangeStats",
    {
        "volume_24h_usdt": serializers.CharField(),
        "trades_24h": serializers.IntegerField(),
        "markets": serializers.IntegerField(),
        "users": serializers.IntegerField(),
        "quote_volume_24h": serializers.DictField(child=serializers.CharField()),
    },
)


def stats_payload(stats: ExchangeStats) -> dict[str, Any]:
    """Return the exchange-wide figures of the last 24 hours; the USDT volume to the cent."""
    return {
        "volume_24h_usdt": plain(stats.volume_usdt, 2),
        "trades_24h": stats.trades,
        "markets": len(stats.quote_volumes),
        "users": stats.users,
        "quote_volume_24h": {symbol: trimmed(volume) for symbol, volume in stats.quote_volumes.items()},
    }
