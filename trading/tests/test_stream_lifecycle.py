"""/ws/stream connect, subscribe, authenticate, unsubscribe and disconnect in every order (issue 12).

Each path must end with the consumer gone cleanly (the communicator re-raises whatever the consumer
raised) and with nothing of it left in the process's fan-out: a member left behind would be handed
every later message of its groups, for a client that is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from accounts.services import issue_tokens
from exchange.core.streams import fanout
from exchange.routing import websocket_urlpatterns
from trading import services
from trading.tests.factories import drain, engine_for, markets, trader

pytestmark = pytest.mark.django_db(transaction=True)

APP = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
TIMEOUT = 5
TRADE_PAGE = ["book:BTC-USDT", "trades:BTC-USDT", "ticker:BTC-USDT", "candles:BTC-USDT:1m", "user"]

Step = Callable[[WebsocketCommunicator, dict[str, str]], Awaitable[None]]


async def connect() -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(APP, "/ws/stream")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive_until(ws: WebsocketCommunicator, kind: str, **fields: str) -> dict[str, Any]:
    while True:
        message = dict(await ws.receive_json_from(timeout=TIMEOUT))
        if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
            return message


def members_left() -> dict[str, int]:
    """The fan-out groups of this event loop that still have members, and how many."""
    groups = fanout(get_channel_layer()).groups
    return {name: len(group.members) for name, group in groups.items() if group.members or group.channel}


def auth(who: str) -> Step:
    async def step(ws: WebsocketCommunicator, tokens: dict[str, str]) -> None:
        await ws.send_json_to({"op": "auth", "token": tokens[who]})
        await receive_until(ws, "authenticated")

    return step


def subscribe(*channels: str, wait: bool = True) -> Step:
    async def step(ws: WebsocketCommunicator, tokens: dict[str, str]) -> None:
        await ws.send_json_to({"op": "subscribe", "channels": list(channels)})
        awaited = {("subscribed", channel) for channel in channels} if wait else set()
        awaited |= {("book.snapshot", channel) for channel in channels if wait and channel.startswith("book:")}
        while awaited:
            message = await ws.receive_json_from(timeout=TIMEOUT)
            awaited.discard((message["type"], message.get("channel")))

    return step


def unsubscribe(*channels: str) -> Step:
    async def step(ws: WebsocketCommunicator, tokens: dict[str, str]) -> None:
        await ws.send_json_to({"op": "unsubscribe", "channels": list(channels)})
        for channel in channels:
            await receive_until(ws, "unsubscribed", channel=channel)

    return step


async def an_order_fills(ws: WebsocketCommunicator, tokens: dict[str, str]) -> None:
    """The trade page after an order: alice's order trades with bob's, and her events start to arrive."""
    await sync_to_async(_trade)()


def _trade() -> None:
    from accounts.models import User

    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    for user, side in ((alice, "sell"), (bob, "buy")):
        services.place_order(
            user=user, request=services.OrderRequest("BTC-USDT", side, "limit", price="60000", quantity="0.1")
        )
    drain(engine_for("BTC-USDT"))


PATHS: dict[str, list[Step]] = {
    "nothing": [],
    "disconnect during a subscribe": [subscribe("book:BTC-USDT", "trades:BTC-USDT", wait=False)],
    "market channels": [subscribe("book:BTC-USDT", "trades:BTC-USDT", "ticker:ETH-USDT")],
    "after auth": [auth("alice")],
    "after the user channel": [auth("alice"), subscribe("user")],
    "the trade page": [auth("alice"), subscribe(*TRADE_PAGE)],
    "the trade page, disconnect during its subscribe": [auth("alice"), subscribe(*TRADE_PAGE, wait=False)],
    "the trade page reloaded after an order": [auth("alice"), subscribe(*TRADE_PAGE), an_order_fills],
    "unsubscribe a market beside the user channel": [
        auth("alice"),
        subscribe("user", "book:BTC-USDT"),
        unsubscribe("book:BTC-USDT"),
    ],
    "unsubscribe the user channel beside a market": [
        subscribe("trades:BTC-USDT"),
        auth("alice"),
        subscribe("user"),
        unsubscribe("user"),
    ],
    "unsubscribe everything": [
        auth("alice"),
        subscribe(*TRADE_PAGE),
        unsubscribe(*TRADE_PAGE),
    ],
    "auth as another user while on the user channel": [
        auth("alice"),
        subscribe("user", "trades:BTC-USDT"),
        auth("bob"),
        unsubscribe("trades:BTC-USDT"),
    ],
}


@pytest.mark.parametrize("path", list(PATHS))
def test_every_path_to_a_disconnect_ends_cleanly_and_leaves_nothing_in_the_fan_out(path: str) -> None:
    # Given two traders on a market
    markets()
    alice, bob = trader("alice", BTC="2", USDT="100000"), trader("bob", BTC="2", USDT="100000")
    tokens = {"alice": issue_tokens(user=alice).access, "bob": issue_tokens(user=bob).access}

    async def scenario() -> None:
        # When a client takes this path, and then goes away
        ws = await connect()
        for step in PATHS[path]:
            await step(ws, tokens)
        await ws.disconnect()  # re-raises what the consumer raised, on the way or at the disconnect

        # Then nothing of it is left in the fan-out
        assert members_left() == {}

    async_to_sync(scenario)()


def test_the_user_channel_outlives_unsubscribing_the_market_beside_it() -> None:
    # Given alice on the user channel and on a book
    markets()
    alice = trader("alice", BTC="2", USDT="100000")
    trader("bob", BTC="2", USDT="100000")
    token = issue_tokens(user=alice).access

    async def scenario() -> None:
        ws = await connect()
        await auth("alice")(ws, {"alice": token})
        await subscribe("user", "book:BTC-USDT")(ws, {})
        # When she leaves the book, and an order of hers then fills
        await unsubscribe("book:BTC-USDT")(ws, {})
        await sync_to_async(_trade)()
        # Then she still hears of it on the user channel, and of the book no more
        orders = await receive_until(ws, "orders")
        assert orders["channel"] == "user"
        assert members_left() == {f"user.{alice.pk}": 1}
        await ws.disconnect()
        assert members_left() == {}

    async_to_sync(scenario)()
