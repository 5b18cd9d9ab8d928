"""/ws/stream end to end: a real WebSocket client (`websockets`) against each server of /ws/stream in a
child process, daphne and the stream server (manage.py run_stream_server), with the engine running in
this process and publishing through the real Redis channel layer; daphne serves the REST snapshots.

The book's deltas, applied to the REST snapshot taken before, give the REST snapshot taken after;
the private `user` channel carries only its own user's events, and only once authenticated."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from accounts.services import issue_tokens
from trading import services
from trading.tests.factories import drain, engine_for, markets, trader
from trading.tests.processes import DaphneProcess, StreamServerProcess

pytestmark = pytest.mark.django_db(transaction=True)

SYMBOL = "BTC-USDT"
TIMEOUT = 10


@pytest.fixture(scope="module")
def daphne(django_db_setup: Any, django_db_blocker: Any) -> Iterator[DaphneProcess]:
    """daphne on a free port, on the test database and this run's channel-layer prefix."""
    with django_db_blocker.unblock():
        process = DaphneProcess()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module", params=["daphne", "stream-server"])
def server(request: Any, daphne: DaphneProcess, django_db_blocker: Any) -> Iterator[tuple[str, str]]:
    """(the address of the REST API, the address of the /ws/stream under test)."""
    if request.param == "daphne":
        yield daphne.address, daphne.address
        return
    with django_db_blocker.unblock():
        stream = StreamServerProcess()
    try:
        yield daphne.address, stream.address
        assert "Traceback" not in stream.output(), stream.output()
    finally:
        stream.stop()


def open_stream(server: tuple[str, str]) -> ClientConnection:
    stream = server[1]
    return connect(f"ws://{stream}/ws/stream", origin=Origin(f"http://{stream}"), open_timeout=TIMEOUT)


def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    ws.send(json.dumps(message))


def receive(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=timeout)))


def nothing_more(ws: ClientConnection, wait: float = 0.5) -> bool:
    try:
        ws.recv(timeout=wait)
    except TimeoutError:
        return True
    return False


def rest_book(server: tuple[str, str]) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{server[0]}/api/trading/orderbook/{SYMBOL}?depth=500", timeout=TIMEOUT) as r:
        return dict(json.load(r))


def levels(book: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    return {side: {price: Decimal(quantity) for price, quantity in book[side]} for side in ("bids", "asks")}


def apply(book: dict[str, dict[str, Decimal]], delta: dict[str, Any]) -> None:
    for side in ("bids", "asks"):
        for price, quantity in delta[side]:
            if Decimal(quantity) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = Decimal(quantity)


def place(user: Any, side: str, price: str, quantity: str, **extra: Any) -> int:
    request = services.OrderRequest(SYMBOL, side, "limit", price=price, quantity=quantity, **extra)
    order, _ = services.place_order(user=user, request=request)
    return order.pk


def test_deltas_over_a_websocket_turn_the_rest_snapshot_before_into_the_one_after(server: tuple[str, str]) -> None:
    # Given a book with an order on it, its REST snapshot, and a subscriber that got the same snapshot
    markets()
    alice, bob = trader("alice", BTC="2", USDT="100000"), trader("bob", BTC="2", USDT="100000")
    engine = engine_for(SYMBOL)
    place(alice, "sell", "60500", "0.4")
    drain(engine)
    before = rest_book(server)
    with open_stream(server) as ws:
        send(ws, {"op": "subscribe", "channels": [f"book:{SYMBOL.lower()}"]})
        assert receive(ws) == {"type": "subscribed", "channel": f"book:{SYMBOL}"}
        snapshot = receive(ws)
        assert (snapshot["type"], snapshot["seq"]) == ("book.snapshot", before["seq"])
        assert levels(snapshot) == levels(before)

        # When six batches change the book: two new levels, a partial fill of each, a new level and its cancel
        def batch(action: Any) -> None:
            action()
            assert drain(engine) == 1

        batch(lambda: place(alice, "sell", "60100", "0.3"))
        batch(lambda: place(bob, "buy", "60000", "0.5"))
        batch(lambda: place(alice, "sell", "60000", "0.2"))
        batch(lambda: place(bob, "buy", "60100", "0.1", time_in_force="IOC"))
        order = place(bob, "buy", "59900", "0.25")
        drain(engine)
        batch(lambda: services.cancel_order(user=bob, order_id=order))

        # Then exactly six deltas arrive, with consecutive seq, and they rebuild the snapshot taken after
        deltas = [receive(ws) for _ in range(6)]
        assert nothing_more(ws)
    after = rest_book(server)
    assert [d["type"] for d in deltas] == ["book.delta"] * 6
    assert [d["seq"] for d in deltas] == list(range(before["seq"] + 1, before["seq"] + 7))
    assert after["seq"] == before["seq"] + 6
    book = levels(before)
    for delta in deltas:
        apply(book, delta)
    assert book == levels(after)
    assert book == {
        "bids": {"60000.000000": Decimal("0.3")},
        "asks": {"60100.000000": Decimal("0.2"), "60500.000000": Decimal("0.4")},
    }


def test_the_user_channel_needs_auth_and_never_carries_another_users_orders(server: tuple[str, str]) -> None:
    markets()
    alice, bob = trader("alice", BTC="2", USDT="100000"), trader("bob", BTC="2", USDT="100000")
    carol = trader("carol", BTC="2", USDT="100000")
    engine = engine_for(SYMBOL)
    with open_stream(server) as anonymous, open_stream(server) as alice_ws, open_stream(server) as bob_ws:
        # Given an anonymous subscriber refused, and alice and bob each on their own channel
        send(anonymous, {"op": "subscribe", "channels": ["user"]})
        refused = receive(anonymous)
        assert (refused["type"], refused["code"]) == ("error", "not_authenticated")
        for ws, user in ((alice_ws, alice), (bob_ws, bob)):
            send(ws, {"op": "auth", "token": issue_tokens(user=user).access})
            assert receive(ws) == {"type": "authenticated", "user_id": user.pk}
            send(ws, {"op": "subscribe", "channels": ["user"]})
            assert receive(ws) == {"type": "subscribed", "channel": "user"}
            assert receive(ws)["type"] == "balances"

        # When alice's orders rest, trade with carol's and are cancelled, and then bob places one
        resting = place(alice, "buy", "59000", "0.1")
        traded = place(alice, "sell", "61000", "0.2")
        drain(engine)
        place(carol, "buy", "61000", "0.2")
        drain(engine)
        services.cancel_order(user=alice, order_id=resting)
        drain(engine)
        bobs = place(bob, "buy", "58000", "0.1")
        drain(engine)

        # Then alice hears of each of her orders, bob of his only, and the anonymous connection of nothing
        assert user_orders(alice_ws, {resting: "cancelled", traded: "filled"}) == {resting, traded}
        assert user_orders(bob_ws, {bobs: "open"}) == {bobs}
        assert nothing_more(anonymous, 0.2)


def user_orders(ws: ClientConnection, final: dict[int, str]) -> set[int]:
    """Read the user channel until each order has reached its status and then 0.5 s of quiet; return the
    ids of every order it told of (in `orders` and `fills`)."""
    seen: set[int] = set()
    status: dict[int, str] = {}
    deadline = time.monotonic() + TIMEOUT
    while True:
        done = all(status.get(order) == state for order, state in final.items())
        try:
            message = receive(ws, timeout=0.5 if done else max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            if done:
                return seen
            raise
        assert message["channel"] == "user", message
        if message["type"] == "orders":
            for order in message["orders"]:
                seen.add(order["id"])
                status[order["id"]] = order["status"]
        elif message["type"] == "fills":
            seen.update(fill["order_id"] for fill in message["fills"] if "order_id" in fill)
