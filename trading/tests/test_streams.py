"""/ws/stream through Channels' test communicator, with the real Redis channel layer and the engine
running in this process: snapshots then consecutive deltas that rebuild the book, trades, the private
user channel (never another user's events), errors that keep the connection open."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from accounts.services import issue_tokens
from exchange.routing import websocket_urlpatterns
from trading import consumers, services
from trading.tests.factories import drain, engine_for, markets, trader

pytestmark = pytest.mark.django_db(transaction=True)

APP = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
TIMEOUT = 5


def run(test: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(test)()


async def connect(headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(APP, "/ws/stream", headers=headers or [])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(ws: WebsocketCommunicator) -> dict[str, Any]:
    return dict(await ws.receive_json_from(timeout=TIMEOUT))


async def receive_until(ws: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    while True:
        message = await receive(ws)
        if message["type"] == kind:
            return message


def place(user: Any, side: str, price: str, quantity: str, **extra: Any) -> int:
    order, _ = services.place_order(
        user=user, request=services.OrderRequest("BTC-USDT", side, "limit", price=price, quantity=quantity, **extra)
    )
    return order.pk


@pytest.fixture
def traders(transactional_db: Any) -> tuple[Any, Any]:
    markets()
    return trader("alice", BTC="2", USDT="100000"), trader("bob", BTC="2", USDT="100000")


def apply(book: dict[str, dict[str, str]], delta: dict[str, Any]) -> None:
    for side in ("bids", "asks"):
        for price, quantity in delta[side]:
            if Decimal(quantity) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = quantity


def levels(snapshot: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {side: dict(map(tuple, snapshot[side])) for side in ("bids", "asks")}


def test_book_snapshot_then_consecutive_deltas_rebuild_the_next_snapshot(traders: tuple[Any, Any]) -> None:
    alice, bob = traders
    engine = engine_for("BTC-USDT")
    place(alice, "sell", "60100", "0.3")
    drain(engine)

    async def scenario() -> None:
        ws = await connect()
        await ws.send_json_to({"op": "subscribe", "channels": ["book:btc-usdt", "trades:BTC-USDT"]})
        assert await receive(ws) == {"type": "subscribed", "channel": "book:BTC-USDT"}
        snapshot = await receive(ws)
        assert snapshot["type"] == "book.snapshot"
        assert snapshot["asks"] == [["60100.000000", "0.30000000"]]
        assert await receive(ws) == {"type": "subscribed", "channel": "trades:BTC-USDT"}
        book, seq = levels(snapshot), snapshot["seq"]

        def trade() -> None:
            place(bob, "buy", "60000", "0.5")
            drain(engine)
            place(alice, "sell", "60000", "0.2")
            drain(engine)
            place(bob, "buy", "60100", "0.1", time_in_force="IOC")
            drain(engine)

        await sync_to_async(trade)()
        deltas: list[dict[str, Any]] = []
        trades: list[dict[str, Any]] = []
        while len(deltas) < 3 or len(trades) < 2:
            message = await receive(ws)
            (deltas if message["type"] == "book.delta" else trades).append(message)
        assert [d["seq"] for d in deltas] == [seq + 1, seq + 2, seq + 3]
        for delta in deltas:
            apply(book, delta)
        await ws.send_json_to({"op": "unsubscribe", "channels": ["book:BTC-USDT"]})
        assert (await receive_until(ws, "unsubscribed"))["channel"] == "book:BTC-USDT"
        await ws.send_json_to({"op": "subscribe", "channels": ["book:BTC-USDT"]})
        await receive_until(ws, "subscribed")
        fresh = await receive_until(ws, "book.snapshot")
        assert fresh["seq"] == seq + 3
        assert levels(fresh) == book
        assert book == {"bids": {"60000.000000": "0.30000000"}, "asks": {"60100.000000": "0.20000000"}}
        prices = [(t["price"], t["quantity"], t["taker_side"]) for m in trades for t in m["trades"]]
        assert prices == [("60000.000000", "0.20000000", "sell"), ("60100.000000", "0.10000000", "buy")]
        await ws.disconnect()

    run(scenario)


def test_the_user_channel_needs_authentication_and_carries_only_your_events(traders: tuple[Any, Any]) -> None:
    alice, bob = traders
    engine = engine_for("BTC-USDT")
    token = issue_tokens(user=alice).access

    async def scenario() -> None:
        anonymous = await connect()
        await anonymous.send_json_to({"op": "subscribe", "channels": ["user"]})
        refused = await receive(anonymous)
        assert (refused["type"], refused["code"]) == ("error", "not_authenticated")
        await anonymous.send_json_to({"op": "auth", "token": "not-a-token"})
        assert (await receive(anonymous))["code"] == "not_authenticated"

        ws = await connect()
        await ws.send_json_to({"op": "auth", "token": token})
        assert await receive(ws) == {"type": "authenticated", "user_id": alice.pk}
        await ws.send_json_to({"op": "subscribe", "channels": ["user"]})
        assert await receive(ws) == {"type": "subscribed", "channel": "user"}
        balances = await receive(ws)
        assert balances["type"] == "balances"
        assert balances["balances"][0] == {"asset": "BTC", "available": "2.00000000", "locked": "0.00000000"}

        def trade() -> tuple[int, int]:
            mine = place(alice, "sell", "60000", "0.1")
            theirs = place(bob, "buy", "59000", "0.1")  # bob's own order: alice must not hear of it
            drain(engine)
            return mine, theirs

        mine, theirs = await sync_to_async(trade)()
        orders = await receive_until(ws, "orders")
        assert [o["id"] for o in orders["orders"]] == [mine]
        assert orders["orders"][0]["status"] == "open"
        await sync_to_async(lambda: (place(bob, "buy", "60000", "0.1"), drain(engine)))()
        filled, usdt = None, None
        while filled is None or usdt != Decimal("105994"):  # 0.1 x 60000, less the 0.1 % maker fee
            message = await receive(ws)
            if message["type"] == "orders":
                filled = message
            elif message["type"] == "balances":
                usdt = next(Decimal(b["available"]) for b in message["balances"] if b["asset"] == "USDT")
        assert [(o["id"], o["status"]) for o in filled["orders"]] == [(mine, "filled")]
        assert theirs != mine
        assert await ws.receive_nothing(timeout=0.5)  # nothing of bob's
        await ws.disconnect()
        await anonymous.disconnect()

    run(scenario)


def test_bad_messages_and_unknown_channels_get_errors_and_the_connection_stays(traders: tuple[Any, Any]) -> None:
    async def scenario() -> None:
        ws = await connect()
        await ws.send_to(text_data="not json")
        assert (await receive(ws))["code"] == "bad_message"
        await ws.send_json_to({"op": "dance"})
        assert (await receive(ws))["code"] == "unknown_op"
        await ws.send_json_to({"op": "subscribe", "channels": "book:BTC-USDT"})
        assert (await receive(ws))["code"] == "bad_message"
        for channel in ("book:DOGE-USDT", "weather:BTC-USDT", "candles:BTC-USDT", "candles:BTC-USDT:2m", "user:7"):
            await ws.send_json_to({"op": "subscribe", "channels": [channel]})
            error = await receive(ws)
            assert (error["type"], error["code"]) == ("error", "unknown_channel"), channel
        await ws.send_json_to({"op": "unsubscribe", "channels": ["trades:BTC-USDT"]})
        assert (await receive(ws))["code"] == "not_subscribed"
        await ws.send_json_to({"op": "ping"})
        assert await receive(ws) == {"type": "pong"}
        await ws.send_json_to({"op": "subscribe", "channels": ["candles:BTC-USDT:1h", "ticker:BTC-USDT"]})
        assert await receive(ws) == {"type": "subscribed", "channel": "candles:BTC-USDT:1h"}
        assert await receive(ws) == {"type": "subscribed", "channel": "ticker:BTC-USDT"}
        ticker = await receive(ws)
        assert (ticker["type"], ticker["symbol"], ticker["last"]) == ("ticker", "BTC-USDT", None)
        await ws.disconnect()

    run(scenario)


def test_subscriptions_per_connection_are_limited(traders: tuple[Any, Any], monkeypatch: Any) -> None:
    monkeypatch.setattr(consumers, "MAX_SUBSCRIPTIONS", 3)

    async def scenario() -> None:
        ws = await connect()
        channels = ["trades:BTC-USDT", "trades:ETH-USDT", "candles:BTC-USDT:1m", "candles:BTC-USDT:1d"]
        await ws.send_json_to({"op": "subscribe", "channels": channels})
        for _ in range(3):
            assert (await receive(ws))["type"] == "subscribed"
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "too_many_subscriptions")
        await ws.send_json_to({"op": "unsubscribe", "channels": ["trades:ETH-USDT"]})
        await receive(ws)
        await ws.send_json_to({"op": "subscribe", "channels": ["candles:BTC-USDT:1d"]})
        assert await receive(ws) == {"type": "subscribed", "channel": "candles:BTC-USDT:1d"}
        await ws.disconnect()

    run(scenario)


def test_trades_move_the_candle_and_ticker_streams(traders: tuple[Any, Any]) -> None:
    alice, bob = traders
    engine = engine_for("BTC-USDT")

    async def scenario() -> None:
        ws = await connect()
        await ws.send_json_to({"op": "subscribe", "channels": ["candles:BTC-USDT:1h", "ticker:BTC-USDT"]})
        await receive_until(ws, "ticker")  # the current ticker comes at once
        await sync_to_async(lambda: (place(alice, "sell", "61000", "0.2"), place(bob, "buy", "61000", "0.2")))()
        await sync_to_async(drain)(engine)
        candle = await receive_until(ws, "candle")
        assert (candle["channel"], candle["interval"]) == ("candles:BTC-USDT:1h", "1h")
        assert (candle["open"], candle["close"], candle["volume"], candle["trades"]) == (
            "61000.000000",
            "61000.000000",
            "0.20000000",
            1,
        )
        ticker = await receive_until(ws, "ticker")
        assert (ticker["last"], ticker["volume"]) == ("61000.000000", "0.20000000")
        await ws.disconnect()

    run(scenario)


def test_a_ticker_held_back_by_the_once_a_second_limit_follows_when_the_second_is_up(
    traders: tuple[Any, Any],
) -> None:
    alice, bob = traders
    engine = engine_for("BTC-USDT")

    async def scenario() -> None:
        ws = await connect()
        await ws.send_json_to({"op": "subscribe", "channels": ["ticker:BTC-USDT"]})
        await receive_until(ws, "ticker")
        await sync_to_async(lambda: (place(alice, "sell", "61000", "0.2"), place(bob, "buy", "61000", "0.1")))()
        await sync_to_async(drain)(engine)
        first = await receive_until(ws, "ticker")
        assert first["volume"] == "0.10000000"
        await sync_to_async(lambda: place(bob, "buy", "61000", "0.1"))()
        await sync_to_async(drain)(engine)  # within the second: held back
        assert await ws.receive_nothing(timeout=0.3)
        await asyncio.sleep(1)
        await sync_to_async(drain)(engine)  # an idle pass, after the second
        second = await receive_until(ws, "ticker")
        assert second["volume"] == "0.20000000"
        await ws.disconnect()

    run(scenario)


def test_an_api_key_authenticates_the_user_channel_with_a_signed_message(traders: tuple[Any, Any]) -> None:
    import hashlib
    import hmac
    import time

    from apikeys.services import create_key

    alice, _ = traders
    readable = create_key(user=alice, label="stream", scopes=["read"])
    trade_only = create_key(user=alice, label="orders only", scopes=["trade"])

    def auth(new: Any, secret: str | None = None) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        message = f"{timestamp}GET/ws/stream".encode()
        signature = hmac.new((secret or new.secret).encode(), message, hashlib.sha256).hexdigest()
        return {"op": "auth", "key": new.key, "timestamp": timestamp, "signature": signature}

    async def scenario() -> None:
        ws = await connect()
        await ws.send_json_to(auth(readable, secret="wrong"))
        assert (await receive(ws))["code"] == "not_authenticated"
        await ws.send_json_to(auth(trade_only))
        assert (await receive(ws))["code"] == "scope_missing"
        signed = auth(readable)
        await ws.send_json_to(signed)
        assert await receive(ws) == {"type": "authenticated", "user_id": alice.pk}
        await ws.send_json_to(signed)  # the same signed message again: a replay
        assert (await receive(ws))["code"] == "not_authenticated"
        await ws.send_json_to({"op": "subscribe", "channels": ["user"]})
        assert await receive(ws) == {"type": "subscribed", "channel": "user"}
        await ws.disconnect()

    run(scenario)
