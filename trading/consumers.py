"""/ws/stream: market data (book, trades, ticker, candles) and the private `user` channel.

Client messages: `{"op": "subscribe" | "unsubscribe", "channels": [...]}`, `{"op": "auth", "token": JWT}`,
`{"op": "ping"}`. Channels: `book:SYMBOL` (a snapshot, then deltas with consecutive `seq`),
`trades:SYMBOL`, `ticker:SYMBOL`, `candles:SYMBOL:INTERVAL`, and `user` (your orders, fills, balances
and notifications; needs the session cookie or an `auth` message first). Bad messages and unknown
channels get an `error` message; the connection stays open.

The consumer joins one channel-layer group per subscribed channel; the engine publishes once per
group. A book delta whose `seq` does not follow the last one sent (a message lost on the way) makes
the consumer send a fresh snapshot instead, so a subscriber never applies a delta to the wrong book.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from rest_framework.utils.encoders import JSONEncoder
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from exchange.streams import in_db_thread, user_group
from trading import marketdata
from trading.api.views import book_payload, order_payload
from trading.models import Market, Order
from wallets.amounts import plain
from wallets.selectors import balances_of

logger = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS = 50
BOOK_DEPTH = 50


class StreamError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _group(channel: str) -> str:
    """The channel-layer group of a stream channel ("book:BTC-USDT" -> "book.BTC-USDT")."""
    return channel.replace(":", ".")


@in_db_thread
def _market(symbol: str) -> Market | None:
    return Market.objects.select_related("base", "quote").filter(symbol=symbol).first()


@in_db_thread
def _book(market: Market) -> dict[str, Any]:
    return book_payload(market, BOOK_DEPTH)


@in_db_thread
def _user_from_token(token: str) -> User | None:
    try:
        access = AccessToken(token)  # type: ignore[arg-type]
    except TokenError:
        return None
    claim = str(settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id"))
    return User.objects.filter(pk=access.get(claim), is_active=True).first()


@in_db_thread
def _orders(user_id: int, order_ids: list[int]) -> list[dict[str, Any]]:
    orders = Order.objects.filter(user_id=user_id, pk__in=order_ids).select_related("market__base", "market__quote")
    return [order_payload(order) for order in orders.order_by("pk")]


@in_db_thread
def _balances(user: User) -> list[dict[str, str]]:
    return [
        {"asset": b.asset, "available": plain(b.available), "locked": plain(b.locked)} for b in balances_of(user=user)
    ]


class StreamConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        self.subscriptions: set[str] = set()
        self.book_seq: dict[str, int] = {}  # symbol -> last seq sent
        scope_user = self.scope.get("user")
        self.user: User | None = scope_user if getattr(scope_user, "is_authenticated", False) else None
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for channel in list(getattr(self, "subscriptions", ())):
            await self._leave(channel)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run the message's handler, without Channels' close_old_connections hop before each one.

        That hop is a trip to the one thread that runs database code, per message and per subscriber:
        with 1,000 subscribers it was most of the process's time and queued every handshake behind it.
        Here every database call goes through `in_db_thread`, which closes old connections itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- client messages ------------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        try:
            if not isinstance(content, dict):
                raise StreamError("bad_message", "Send a JSON object with an `op`.")
            op = content.get("op")
            if op == "ping":
                await self.send_json({"type": "pong"})
            elif op == "auth":
                await self._auth(content.get("token"))
            elif op in ("subscribe", "unsubscribe"):
                channels = content.get("channels")
                if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels) or not channels:
                    raise StreamError("bad_message", "`channels` is a non-empty list of channel names.")
                for channel in channels:
                    await (self._subscribe(channel) if op == "subscribe" else self._unsubscribe(channel))
            else:
                raise StreamError("unknown_op", "`op` is subscribe, unsubscribe, auth or ping.")
        except StreamError as error:
            await self.send_json({"type": "error", "code": error.code, "message": error.message})

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, cls=JSONEncoder)  # times and amounts as the REST API writes them

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None  # receive_json answers with a bad_message error

    async def _auth(self, token: Any) -> None:
        user = await _user_from_token(token) if isinstance(token, str) and token else None
        if user is None:
            raise StreamError("not_authenticated", "The token is not valid (or expired).")
        if self.user is not None and self.user.pk != user.pk and "user" in self.subscriptions:
            await self._leave("user")
        self.user = user
        await self.send_json({"type": "authenticated", "user_id": user.pk})

    async def _subscribe(self, channel: str) -> None:
        if channel in self.subscriptions:
            return
        limit = MAX_SUBSCRIPTIONS
        if len(self.subscriptions) >= limit:
            raise StreamError("too_many_subscriptions", f"At most {limit} channels per connection.")
        kind, _, rest = channel.partition(":")
        if kind == "user":
            if rest:
                raise StreamError("unknown_channel", "The private channel is just `user`.")
            if self.user is None:
                raise StreamError("not_authenticated", "Authenticate first (session or an `auth` message).")
            await self._join(channel, user_group(self.user.pk))
            await self.send_json({"type": "subscribed", "channel": channel})
            await self._send_balances()
            return
        symbol, _, interval = rest.partition(":")
        if kind not in ("book", "trades", "ticker", "candles") or not symbol:
            raise StreamError("unknown_channel", f"Unknown channel {channel!r}.")
        if (kind == "candles") != bool(interval) or (interval and interval not in marketdata.INTERVALS):
            raise StreamError(
                "unknown_channel", f"Use candles:SYMBOL:INTERVAL with one of {', '.join(marketdata.INTERVALS)}."
            )
        market = await _market(symbol.upper())
        if market is None:
            raise StreamError("unknown_channel", f"Unknown market {symbol!r}.")
        channel = f"{kind}:{market.symbol}" + (f":{interval}" if interval else "")
        if channel in self.subscriptions:
            return
        await self._join(channel, _group(channel))
        await self.send_json({"type": "subscribed", "channel": channel})
        if kind == "book":
            await self._send_snapshot(market)
        elif kind == "ticker":
            await self.send_json({"type": "ticker", "channel": channel, **await marketdata.aticker(market)})

    async def _unsubscribe(self, channel: str) -> None:
        kind, _, rest = channel.partition(":")
        symbol, _, interval = rest.partition(":")
        canonical = f"{kind}:{symbol.upper()}" + (f":{interval}" if interval else "") if symbol else kind
        if canonical not in self.subscriptions:
            raise StreamError("not_subscribed", f"Not subscribed to {channel!r}.")
        await self._leave(canonical)
        await self.send_json({"type": "unsubscribed", "channel": canonical})

    async def _join(self, channel: str, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.subscriptions.add(channel)

    async def _leave(self, channel: str) -> None:
        group = user_group(self.user.pk) if channel == "user" and self.user else _group(channel)
        await self.channel_layer.group_discard(group, self.channel_name)
        self.subscriptions.discard(channel)
        if channel.startswith("book:"):
            self.book_seq.pop(channel[5:], None)

    async def _send_snapshot(self, market: Market) -> None:
        book = await _book(market)
        self.book_seq[market.symbol] = book["seq"]
        await self.send_json({"type": "book.snapshot", "channel": f"book:{market.symbol}", **book})

    async def _send_balances(self) -> None:
        if self.user is not None:
            await self.send_json({"type": "balances", "channel": "user", "balances": await _balances(self.user)})

    # --- group messages (published by the engine and by services, after commit) -----------------

    async def book_delta(self, event: dict[str, Any]) -> None:
        symbol = event["symbol"]
        last = self.book_seq.get(symbol)
        if last is None or event["seq"] <= last:
            return  # not subscribed any more, or already in the snapshot sent
        if event["seq"] != last + 1:
            logger.info("stream: %s delta %d after %d: sending a new snapshot", symbol, event["seq"], last)
            market = await _market(symbol)
            if market is not None:
                await self._send_snapshot(market)
            return
        self.book_seq[symbol] = event["seq"]
        await self.send(text_data=event["text"])

    # Trades, tickers and candles go out as the engine serialized them: once, for every subscriber.
    async def trades(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    ticker = trades
    candle = trades

    async def user_orders(self, event: dict[str, Any]) -> None:
        if self.user is None:
            return
        orders = await _orders(self.user.pk, event["order_ids"])
        await self.send_json({"type": "orders", "channel": "user", "orders": orders})
        if event.get("fills"):
            await self.send_json({"type": "fills", "channel": "user", "fills": event["fills"]})

    async def user_balances(self, event: dict[str, Any]) -> None:
        await self._send_balances()  # sent after every ledger entry touching the user

    async def user_notification(self, event: dict[str, Any]) -> None:
        notification = {key: value for key, value in event.items() if key != "type"}
        await self.send_json({"type": "notification", "channel": "user", **notification})
