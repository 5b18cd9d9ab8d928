"""/ws/stream: market data (book, trades, ticker, candles) and the private `user` channel.

Client messages: `{"op": "subscribe" | "unsubscribe", "channels": [...]}`, `{"op": "auth", "token": JWT}`
or `{"op": "auth", "key", "timestamp", "signature"}` (an API key with the `read` scope, signing
`timestamp + "GET/ws/stream"` as for REST), `{"op": "ping"}`. Channels: `book:SYMBOL` (a snapshot,
then deltas with consecutive `seq`), `trades:SYMBOL`, `ticker:SYMBOL`, `candles:SYMBOL:INTERVAL`, and
`user` (your orders, fills, balances and notifications; needs the session cookie or an `auth`
message first). Bad messages and unknown channels get an `error` message; the connection stays open.

An authentication lasts as long as what gave it: the session (until its logout), the access token
(until it expires, or its user logs out through the API), the API key (until it is revoked). Then
the connection drops the user channel (`unsubscribed`, with a `reason`), says `unauthenticated`
with the same code, and goes on with the public channels; the client may authenticate again (a
client sends a fresh access token before the old one expires to keep the user channel). The ends are
`user.revoked` events on the user's group, published on commit by the services that end a
credential; every RECHECK_SECONDS the consumer also checks its credential in the database, in case
such an event was lost.

The engine publishes one message per batch and market (group `market.SYMBOL`) with the text of each
stream channel it touched. It reaches a web process once through its fan-out (exchange.core.streams.Fanout),
which hands it to the consumers subscribed to anything of that market in turn; each queues the parts
its client subscribed to and sends the engine's text as it is. The private `user` channel is a group
per user, through the same fan-out: a consumer has no channel-layer channel of its own. A book delta
whose `seq` does not follow the last one sent (a message lost on the way) makes the consumer send a
fresh snapshot instead, so a subscriber never applies a delta to the wrong book.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, TypeVar, cast

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.sessions import InstanceSessionWrapper
from channels.utils import await_many_dispatch
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.utils.encoders import JSONEncoder
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.models import User
from apikeys.authentication import ip_allowed
from apikeys.authentication import verify as verify_api_key
from apikeys.models import ApiKey
from exchange.core import client_address
from exchange.core.scopes import Scope
from exchange.core.streams import Credential, Deliver, fanout, in_db_thread, session_ref, user_group
from trading import marketdata, selectors
from trading.events import market_group
from trading.models import Market, Order
from trading.payloads import book_payload, order_payload, ticker_payload
from wallets.payloads import balance_payload
from wallets.selectors import balances_of

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_SUBSCRIPTIONS = 50
BOOK_DEPTH = 50
# How long an authentication may outlive its credential when the event that ends it is lost (Redis
# pub/sub delivers at most once). Each authenticated connection reads the database once per period.
RECHECK_SECONDS = 60.0

# Why an authentication ended: the `reason` of `unsubscribed` and the `code` of `unauthenticated`.
ENDED = {
    "session_ended": "Your session ended (you signed out, or it expired).",
    "token_revoked": "You logged out: authenticate with a new access token.",
    "token_expired": "The access token expired: send a fresh one, before it expires, to keep the user channel.",
    "api_key_revoked": "The API key was revoked, expired, or may no longer read from here.",
}
REVOKED = {Credential.SESSION: "session_ended", Credential.JWT: "token_revoked", Credential.API_KEY: "api_key_revoked"}


class StreamError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Read:
    """A database read shared by the subscribers that ask for the same thing while it is pending.

    A thousand clients reconnecting at once then cost a few reads, not a thousand queued in the one
    database thread (where daphne's handshakes wait too, and it refuses those not done in 5 s).
    """

    def __init__(
        self, key: tuple[asyncio.AbstractEventLoop, str, str], read: Callable[[_Read], Awaitable[Any]]
    ) -> None:
        self.started = False  # set by the read itself, in the database thread, before it reads
        self.result = asyncio.ensure_future(read(self))
        self.result.add_done_callback(lambda _done: self._forget(key))

    def _forget(self, key: tuple[asyncio.AbstractEventLoop, str, str]) -> None:
        if _reads.get(key) is self:
            del _reads[key]


_reads: dict[tuple[asyncio.AbstractEventLoop, str, str], _Read] = {}


async def _shared(kind: str, symbol: str, read: Callable[[_Read], Awaitable[T]], *, unstarted: bool) -> T:
    """Join the pending read of this kind and symbol (with `unstarted`: only one not begun yet), or start one."""
    key = (asyncio.get_running_loop(), kind, symbol)
    pending = _reads.get(key)
    if pending is None or (unstarted and pending.started):
        pending = _reads[key] = _Read(key, read)
    return cast(T, await asyncio.shield(pending.result))


@in_db_thread
def _fetch_market(symbol: str, read: _Read) -> Market | None:
    read.started = True
    return Market.objects.select_related("base", "quote").filter(symbol=symbol).first()


async def _market(symbol: str) -> Market | None:
    return await _shared("market", symbol, lambda read: _fetch_market(symbol, read), unstarted=False)


@in_db_thread
def _read_book(market: Market, read: _Read) -> dict[str, Any]:
    read.started = True  # from here on, a new subscriber waits for the next read
    return book_payload(market, selectors.order_book(market=market, depth=BOOK_DEPTH))


async def _book(market: Market) -> dict[str, Any]:
    """The book's snapshot, read after the caller joined its group, so that no delta falls between."""
    return await _shared("book", market.symbol, lambda read: _read_book(market, read), unstarted=True)


@dataclass(frozen=True, eq=False)
class SignIn:
    """Who authenticated a connection, and with what: enough to tell when that ends."""

    user: User
    credential: Credential
    ref: str = ""  # the session's digest (streams.session_ref), the API key's id; "" for a JWT
    expires_at: float | None = None  # seconds since the epoch: a JWT's `exp`, an API key's expiry
    session_key: str = field(default="", repr=False)
    ip: str = ""  # the address an API key was checked for


@in_db_thread
def _user_from_token(token: str) -> SignIn | None:
    """The sign-in of a valid access token, checked exactly as the REST API's JWT authentication checks it."""
    jwt = JWTAuthentication()
    try:
        validated = jwt.get_validated_token(token.encode())
        user = jwt.get_user(validated)
    except (InvalidToken, AuthenticationFailed):
        return None
    if not isinstance(user, User):
        return None
    return SignIn(user, Credential.JWT, expires_at=float(validated["exp"]))


STREAM_PATH = "/ws/stream"


def _key_refusal(api_key: ApiKey, ip: str) -> StreamError | None:
    """Why this active API key may not read the stream from this address, or None."""
    if not ip_allowed(api_key, ip):
        return StreamError("ip_not_allowed", f"This API key may not be used from {ip}.")
    if Scope.READ not in api_key.scopes:
        return StreamError("scope_missing", "This API key lacks the `read` scope.")
    return None


@in_db_thread
def _user_from_api_key(key: str, timestamp: str, signature: str, ip: str) -> SignIn:
    """The sign-in of a read-scoped API key that signed `timestamp + "GET/ws/stream"`, or StreamError."""
    try:
        api_key = verify_api_key(
            key=key, timestamp=timestamp, sig=signature, method="GET", path=STREAM_PATH, query="", body=b""
        )
    except AuthenticationFailed as error:
        raise StreamError("not_authenticated", str(error.detail)) from None
    if refusal := _key_refusal(api_key, ip):
        raise refusal
    expires_at = api_key.expires_at.timestamp() if api_key.expires_at else None
    return SignIn(api_key.user, Credential.API_KEY, str(api_key.pk), expires_at, ip=ip)


@in_db_thread
def _still_signed_in(sign_in: SignIn) -> bool:
    """Whether the credential still authenticates its user, as the next HTTP request would find it.

    A JWT cannot be asked (it names no refresh token): its expiry is timed, its logout is an event.
    """
    user = User.objects.filter(pk=sign_in.user.pk, is_active=True).first()
    if user is None:
        return False
    if sign_in.credential == Credential.SESSION:
        # Read the store afresh (the connection's own session object holds what it read at connect).
        session = import_module(settings.SESSION_ENGINE).SessionStore(sign_in.session_key).load()
        stored_hash = session.get(HASH_SESSION_KEY)
        return (
            session.get(SESSION_KEY) == str(user.pk)
            and isinstance(stored_hash, str)
            and constant_time_compare(stored_hash, user.get_session_auth_hash())  # a password change ends it
        )
    if sign_in.credential == Credential.API_KEY:
        api_key = ApiKey.objects.filter(pk=int(sign_in.ref), user=user).first()
        return api_key is not None and api_key.is_active and _key_refusal(api_key, sign_in.ip) is None
    return True


@in_db_thread
def _orders(user_id: int, order_ids: list[int]) -> list[dict[str, Any]]:
    orders = Order.objects.filter(user_id=user_id, pk__in=order_ids).select_related("market__base", "market__quote")
    return [order_payload(order) for order in orders.order_by("pk")]


@in_db_thread
def _balances(user: User) -> list[dict[str, str]]:
    return [balance_payload(balance) for balance in balances_of(user=user)]


class StreamConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set here, not in connect(): the cleanup after the connection reads them however it ended.
        self.subscriptions: dict[str, str] = {}  # channel -> the fan-out group it comes through
        self.book_seq: dict[str, int] = {}  # symbol -> last seq sent
        self.book_pending: dict[str, list[tuple[str, Any, int]]] = {}  # deltas waiting for a snapshot
        # Market data to send, in order: (channel, text, book seq), or (book channel, snapshot, its seq).
        self.outbox: deque[tuple[str, Any, int]] = deque()
        self.draining = False
        self.resyncs: set[asyncio.Future[None]] = set()
        self.user_events: deque[dict[str, Any]] = deque()
        self.user_task: asyncio.Future[None] | None = None
        self.user: User | None = None
        self.sign_in: SignIn | None = None
        # While authenticated, the consumer is on its user's group, subscribed to `user` or not: the
        # group carries the `user.revoked` events that end the authentication.
        self.auth_group: str | None = None
        self.watcher: asyncio.Future[None] | None = None  # the credential's expiry and re-checks
        # A client message and the end of an authentication never interleave: a `user` subscription
        # half made when the sign-in ends would go on carrying the user's events.
        self.auth_lock = asyncio.Lock()

    async def connect(self) -> None:
        scope_user = self.scope.get("user")
        session = self.scope.get("session")
        if getattr(scope_user, "is_authenticated", False) and session is not None and session.session_key:
            # Only a browser on one of our origins gets this far with its cookie (exchange.routing).
            key = session.session_key
            await self._signed_in(SignIn(scope_user, Credential.SESSION, session_ref(key), session_key=key))
        await self.accept()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve the connection without a channel-layer channel of its own.

        Channels gives each consumer one (a Redis SUBSCRIBE when it connects, an UNSUBSCRIBE when it
        goes, a receive task meanwhile); here market data and the user channel both come through the
        process's fan-out, so the consumer only waits for its client's messages.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        # The session middleware wraps `send` to save the session with an HTTP response; it never acts
        # on a WebSocket frame, yet reads the lazy session twice per frame (8% of daphne's time with
        # 1,000 subscribers). Market data goes past it; everything else through it, as before.
        wrapper = getattr(send, "__self__", None)
        self.data_send = wrapper.real_send if isinstance(wrapper, InstanceSessionWrapper) else send
        try:
            with contextlib.suppress(StopConsumer):
                await await_many_dispatch([receive], self.dispatch)
        finally:
            # However the connection ended (a disconnect, a handler that raised, daphne cancelling
            # us), leave the fan-out: a member left there is handed every later message for nobody.
            await self._leave_all()

    async def _leave_all(self) -> None:
        for task in (self.user_task, self.watcher, *self.resyncs):
            if task is not None:
                task.cancel()
        groups = {*self.subscriptions.values(), *([self.auth_group] if self.auth_group else [])}
        self.subscriptions.clear()
        self.auth_group = None
        for group in groups:
            await fanout(self.channel_layer).discard(group, self)

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
        async with self.auth_lock:
            await self._handle(content)

    async def _handle(self, content: Any) -> None:
        try:
            if not isinstance(content, dict):
                raise StreamError("bad_message", "Send a JSON object with an `op`.")
            op = content.get("op")
            if op == "ping":
                await self.send_json({"type": "pong"})
            elif op == "auth" and "key" in content:
                await self._auth_api_key(content)
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

    async def _auth_api_key(self, content: dict[str, Any]) -> None:
        key, timestamp, signature = (content.get(name) for name in ("key", "timestamp", "signature"))
        if not (isinstance(key, str) and isinstance(timestamp, str) and isinstance(signature, str)):
            raise StreamError("bad_message", "An API-key auth carries `key`, `timestamp` and `signature`.")
        ip = client_address.of_scope(self.scope)  # the peer, or behind a trusted proxy what it forwards
        await self._signed_in(await _user_from_api_key(key, timestamp, signature, ip))
        await self._send_authenticated()

    async def _auth(self, token: Any) -> None:
        sign_in = await _user_from_token(token) if isinstance(token, str) and token else None
        if sign_in is None:
            raise StreamError("not_authenticated", "The token is not valid (or expired).")
        await self._signed_in(sign_in)
        await self._send_authenticated()

    async def _send_authenticated(self) -> None:
        if self.user is not None:
            await self.send_json({"type": "authenticated", "user_id": self.user.pk})

    async def _signed_in(self, sign_in: SignIn) -> None:
        """Authenticate as this sign-in: the last one counts (a fresh token keeps the user channel)."""
        if self.user is not None and self.user.pk != sign_in.user.pk:
            await self._signed_out(None)  # another user's events are no business of this one
        self.user, self.sign_in = sign_in.user, sign_in
        if self.auth_group is None:
            self.auth_group = user_group(sign_in.user.pk)
            await fanout(self.channel_layer).add(self.auth_group, self, self._user_event)
        if self.watcher is not None:
            self.watcher.cancel()
        self.watcher = asyncio.ensure_future(self._watch(sign_in))

    async def _signed_out(self, code: str | None) -> None:
        """Forget the authentication: drop the user channel and the user's group; with a `code`, say why."""
        if self.watcher is not None and self.watcher is not asyncio.current_task():
            self.watcher.cancel()
        self.watcher = None
        self.user = self.sign_in = None
        self.user_events.clear()
        on_user_channel = self.subscriptions.pop("user", None) is not None
        group, self.auth_group = self.auth_group, None
        if group is not None and group not in self.subscriptions.values():
            await fanout(self.channel_layer).discard(group, self)
        if on_user_channel:
            await self.send_json({"type": "unsubscribed", "channel": "user", **({"reason": code} if code else {})})
        if code is not None:
            await self.send_json({"type": "unauthenticated", "code": code, "message": ENDED[code]})

    async def _end(self, sign_in: SignIn, code: str) -> None:
        """End this sign-in, unless the connection authenticated again since."""
        async with self.auth_lock:
            if self.sign_in is sign_in:
                await self._signed_out(code)

    async def _watch(self, sign_in: SignIn) -> None:
        """End the sign-in when its credential expires, or when a re-check finds it gone (its event lost)."""

        def next_check() -> float:
            # Spread: connections made together (a restart's reconnects) do not all re-check together.
            return time.monotonic() + RECHECK_SECONDS * random.uniform(0.8, 1.2)  # noqa: S311  # nosec B311  # jitter, not a secret

        check_at = next_check()
        while True:
            expires_in = sign_in.expires_at - time.time() if sign_in.expires_at is not None else None
            if expires_in is not None and expires_in <= 0:
                code = "token_expired" if sign_in.credential == Credential.JWT else REVOKED[sign_in.credential]
                break
            if time.monotonic() >= check_at:
                if not await _still_signed_in(sign_in):
                    code = REVOKED[sign_in.credential]
                    break
                check_at = next_check()
            wait = check_at - time.monotonic()
            await asyncio.sleep(max(0.01, wait if expires_in is None else min(wait, expires_in)))
        await self._end(sign_in, code)

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
            if self.user is None or self.auth_group is None:
                raise StreamError("not_authenticated", "Authenticate first (session or an `auth` message).")
            await self._join(channel, self.auth_group, self._user_event)
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
        await self._join(channel, market_group(market.symbol), self._relay)
        await self.send_json({"type": "subscribed", "channel": channel})
        if kind == "book":
            await self._send_snapshot(market)
        elif kind == "ticker":
            ticker = ticker_payload(await marketdata.aticker(market), market.quote.decimals, market.base.decimals)
            await self.send_json({"type": "ticker", "channel": channel, **ticker})

    async def _unsubscribe(self, channel: str) -> None:
        kind, _, rest = channel.partition(":")
        symbol, _, interval = rest.partition(":")
        canonical = f"{kind}:{symbol.upper()}" + (f":{interval}" if interval else "") if symbol else kind
        if canonical not in self.subscriptions:
            raise StreamError("not_subscribed", f"Not subscribed to {channel!r}.")
        await self._leave(canonical)
        await self.send_json({"type": "unsubscribed", "channel": canonical})

    async def _join(self, channel: str, group: str, deliver: Deliver) -> None:
        """Subscribe to a channel through its group (the group a market's channels share, or a user's).

        The channel's group is kept with it, so leaving never has to work it out from the name again.
        """
        if channel.startswith("book:"):
            self.book_pending[channel[5:]] = []  # deltas from now on wait for the snapshot
        self.subscriptions[channel] = group  # before joining: a cleanup while joining leaves it too
        await fanout(self.channel_layer).add(group, self, deliver)  # once per group: no-op after

    async def _leave(self, channel: str) -> None:
        group = self.subscriptions.pop(channel, None)
        if group is not None and group != self.auth_group and group not in self.subscriptions.values():
            await fanout(self.channel_layer).discard(group, self)
        if channel.startswith("book:"):
            self.book_seq.pop(channel[5:], None)
            self.book_pending.pop(channel[5:], None)

    async def _send_snapshot(self, market: Market) -> None:
        """Queue the book's snapshot, then the deltas that came while it was read (those after it go out)."""
        book = await _book(market)
        channel = f"book:{market.symbol}"
        pending = self.book_pending.pop(market.symbol, None)
        if pending is None:
            return  # unsubscribed meanwhile
        self.outbox.append((channel, {"type": "book.snapshot", "channel": channel, **book}, book["seq"]))
        self.outbox.extend(pending)
        await self._drain()

    async def _resync(self, symbol: str) -> None:
        market = await _market(symbol)
        if market is not None and symbol in self.book_pending:
            await self._send_snapshot(market)

    async def _send_balances(self) -> None:
        user = self.user
        if user is not None:
            balances = await _balances(user)
            if self._hears(user):
                await self.send_json({"type": "balances", "channel": "user", "balances": balances})

    def _hears(self, user: User) -> bool:
        """Whether the user channel is still this user's: the sign-in may have ended during a read."""
        return self.user is user and "user" in self.subscriptions

    # --- market data (published by the engine after commit, handed over by the process's fan-out) -

    async def _relay(self, events: list[dict[str, Any]]) -> None:
        """Take batches' market data from the fan-out: queue the parts subscribed to, and send the queue.

        The fan-out awaits this for each subscriber in turn, so it must never wait on the database: a
        book gap starts a new snapshot in a task of its own, and deltas wait for it in `book_pending`.
        """
        for event in events:
            symbol, seq = event["symbol"], event["seq"] or 0  # a batch has a book part only with a seq
            for channel, text in event["parts"]:
                if channel not in self.subscriptions:
                    continue
                if channel[:5] == "book:" and (pending := self.book_pending.get(symbol)) is not None:
                    pending.append((channel, text, seq))
                else:
                    self.outbox.append((channel, text, seq))
        if self.outbox:
            await self._drain()

    async def _drain(self) -> None:
        """Send the queued messages in order; one drain at a time, the others just queue."""
        if self.draining:
            return
        self.draining = True
        try:
            while self.outbox:
                channel, payload, seq = self.outbox.popleft()
                if isinstance(payload, dict):  # a snapshot: the deltas after its seq follow it
                    self.book_seq[channel[5:]] = seq
                    await self.send_json(payload)
                elif channel[:5] != "book:" or self._book_delta(channel[5:], seq):
                    # The engine serialized it once for every subscriber: straight to the server.
                    await self.data_send({"type": "websocket.send", "text": payload})
        finally:
            self.draining = False

    def _book_delta(self, symbol: str, seq: int) -> bool:
        """Return whether to send the delta: it follows the last one sent. A gap starts a new snapshot."""
        last = self.book_seq.get(symbol)
        if last is None or seq <= last:
            return False  # not subscribed any more, or already in the snapshot sent
        if seq != last + 1:
            logger.info("stream: %s delta %d after %d: sending a new snapshot", symbol, seq, last)
            del self.book_seq[symbol]
            self.book_pending[symbol] = []
            self.resyncs.add(task := asyncio.ensure_future(self._resync(symbol)))
            task.add_done_callback(self.resyncs.discard)
            return False
        self.book_seq[symbol] = seq
        return True

    # --- the user channel (published by services and the engine after commit) --------------------

    async def _user_event(self, events: list[dict[str, Any]]) -> None:
        """Take user events from the fan-out; handle the queue in a task, as these read the database.

        Authenticated without the `user` channel, the connection only listens for its sign-in's end.
        """
        if "user" not in self.subscriptions:
            events = [event for event in events if event["type"] == "user.revoked"]
            if not events:
                return
        self.user_events.extend(events)
        if self.user_task is None or self.user_task.done():
            self.user_task = asyncio.ensure_future(self._user_events())

    async def _user_events(self) -> None:
        while self.user_events:
            event = self.user_events.popleft()
            try:
                await self.dispatch(event)
            except Exception:
                logger.exception("stream: handling %s failed", event.get("type"))

    async def user_orders(self, event: dict[str, Any]) -> None:
        user = self.user
        if user is None or not self._hears(user):
            return
        orders = await _orders(user.pk, event["order_ids"])
        if not self._hears(user):
            return
        await self.send_json({"type": "orders", "channel": "user", "orders": orders})
        if event.get("fills"):
            await self.send_json({"type": "fills", "channel": "user", "fills": event["fills"]})

    async def user_balances(self, event: dict[str, Any]) -> None:
        await self._send_balances()  # sent after every ledger entry touching the user

    async def user_notification(self, event: dict[str, Any]) -> None:
        if self.user is None or not self._hears(self.user):
            return
        notification = {key: value for key, value in event.items() if key != "type"}
        await self.send_json({"type": "notification", "channel": "user", **notification})

    async def user_revoked(self, event: dict[str, Any]) -> None:
        """End the sign-in if the credential that ended is its own (one session, one key, or all of a kind)."""
        sign_in = self.sign_in
        if sign_in is None or event.get("credential") != sign_in.credential:
            return
        if event.get("ref") and event["ref"] != sign_in.ref:
            return
        await self._end(sign_in, REVOKED[sign_in.credential])
