"""One record, one shape: an order, a balance and a public trade read the same on REST and on /ws/stream.

Both are checked against the payload function that builds them (trading.payloads, wallets.payloads),
with the real channel layer and the engine running in this process: a stream that built its own
dict (a field more, a field less, an amount written at other places) fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from rest_framework.utils.encoders import JSONEncoder

from accounts.services import issue_tokens
from exchange.routing import websocket_urlpatterns
from trading import payloads, services
from trading.models import Order, Trade
from trading.tests.factories import client_for, drain, engine_for, markets, trader
from wallets.payloads import balance_payload
from wallets.selectors import balances_of

pytestmark = pytest.mark.django_db(transaction=True)

APP = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
TIMEOUT = 5


def as_json(payload: Any) -> Any:
    """The payload as a client reads it: encoded as the REST API and the stream encode it."""
    return json.loads(json.dumps(payload, cls=JSONEncoder))


async def signed_in(token: str, *channels: str) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(APP, "/ws/stream")
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"op": "auth", "token": token})
    assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "authenticated"
    await ws.send_json_to({"op": "subscribe", "channels": list(channels)})
    subscribed: set[str] = set()
    while subscribed != set(channels):  # joined before anything happens that it should hear
        message = await ws.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "subscribed":
            subscribed.add(message["channel"])
    return ws


async def first_of(ws: WebsocketCommunicator, *kinds: str) -> dict[str, dict[str, Any]]:
    """The first message of each kind, whatever order they come in."""
    found: dict[str, dict[str, Any]] = {}
    while found.keys() != set(kinds):
        message = dict(await ws.receive_json_from(timeout=TIMEOUT))
        if message["type"] in kinds:
            found.setdefault(message["type"], message)
    return found


def test_an_order_a_balance_and_a_trade_are_built_alike_for_rest_and_the_stream(transactional_db: Any) -> None:
    # Given alice and bob, and alice listening to her user channel and to the market's trades
    markets()
    alice, bob = trader("alice", BTC="2", USDT="100000"), trader("bob", BTC="2", USDT="100000")
    engine = engine_for("BTC-USDT")
    token = issue_tokens(user=alice).access

    async def scenario() -> None:
        ws = await signed_in(token, "user", "trades:BTC-USDT")

        # When alice's sell rests and bob's buy takes part of it, in one engine batch
        def trade() -> int:
            sell, _ = services.place_order(
                user=alice, request=services.OrderRequest("BTC-USDT", "sell", "limit", price="60000", quantity="0.3")
            )
            services.place_order(
                user=bob, request=services.OrderRequest("BTC-USDT", "buy", "limit", price="60000", quantity="0.1")
            )
            drain(engine)
            return sell.pk

        order_id = await sync_to_async(trade)()
        seen = await first_of(ws, "orders", "trades")
        orders, trades = seen["orders"], seen["trades"]
        await ws.disconnect()
        # (a new subscription to `user` starts with the balances as they are now)
        fresh = await signed_in(token, "user")
        balances = (await first_of(fresh, "balances"))["balances"]
        await fresh.disconnect()

        def rest_and_built() -> None:
            client = client_for(alice)
            order = Order.objects.select_related("market__base", "market__quote").get(pk=order_id)
            stored = Trade.objects.get(maker_order=order)
            places = order.market.quote.decimals, order.market.base.decimals

            # Then the order on the stream is the REST order, both written by order_payload
            assert orders["orders"] == [client.get(f"/api/trading/orders/{order_id}").json()]
            assert orders["orders"] == [as_json(payloads.order_payload(order))]
            assert orders["orders"][0]["status"] == "partially_filled"

            # and the balances on the stream are the REST balances, both written by balance_payload
            assert balances["balances"] == client.get("/api/wallet/balances").json()
            assert balances["balances"] == as_json([balance_payload(b) for b in balances_of(user=alice)])
            assert {"asset": "BTC", "available": "1.70000000", "locked": "0.20000000"} in balances["balances"]

            # and the trade has the same fields on both, written by public_trade_payload at its own time
            # (REST: when it was stored; the stream: its batch's commit, in milliseconds)
            [streamed] = trades["trades"]
            [listed] = client.get("/api/trading/trades/BTC-USDT").json()
            assert streamed.keys() == listed.keys() == {"id", "price", "quantity", "taker_side", "time"}
            assert streamed == as_json(payloads.public_trade_payload(stored, trades["ts"], *places))
            assert listed == as_json(payloads.public_trade_payload(stored, stored.created_at, *places))
            assert (streamed["id"], streamed["price"], streamed["quantity"]) == (
                stored.pk,
                "60000.000000",
                "0.10000000",
            )

        await sync_to_async(rest_and_built)()

    async_to_sync(scenario)()
