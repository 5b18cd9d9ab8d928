"""The stream server (manage.py run_stream_server) as a process: what it answers besides /ws/stream,
how it treats a subscriber that stops reading, and how it stops. The channels, the origin check and
authentication are the application's, tested on this server and on daphne in trading/tests
(test_stream_e2e, test_stream_auth)."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.sync.client import ClientConnection, connect

from exchange.core.streams import publish
from trading.events import market_group
from trading.tests.factories import markets
from trading.tests.processes import StreamServerProcess, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10
SEND_BUFFER = 64 * 1024  # the server's limit in these tests: a slow reader passes it quickly


@pytest.fixture
def stream_server(transactional_db: Any) -> Iterator[StreamServerProcess]:
    markets()
    process = StreamServerProcess(env={"STREAM_SEND_BUFFER": str(SEND_BUFFER)})
    try:
        yield process
    finally:
        process.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310  # our own http:// URL
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@contextmanager
def subscribed(server: StreamServerProcess, channels: list[str], **options: Any) -> Iterator[ClientConnection]:
    with connect(f"ws://{server.address}/ws/stream", open_timeout=TIMEOUT, **options) as ws:
        ws.send(json.dumps({"op": "subscribe", "channels": channels}))
        for channel in channels:
            assert json.loads(ws.recv(timeout=TIMEOUT)) == {"type": "subscribed", "channel": channel}
        yield ws


def trades_message(i: int, size: int) -> dict[str, Any]:
    """A market message as the engine publishes it, carrying one `trades` text of about `size` bytes."""
    text = json.dumps({"type": "trades", "channel": "trades:BTC-USDT", "n": i, "pad": "x" * size})
    return {"type": "market.data", "symbol": "BTC-USDT", "seq": None, "parts": [["trades:BTC-USDT", text]]}


def read_to_the_end(ws: ClientConnection) -> tuple[int, Close | None]:
    """Read until the server closes the connection: how many messages came first, and its close frame."""
    got = 0
    while True:
        try:
            ws.recv(timeout=TIMEOUT)
        except ConnectionClosed as closed:
            return got, closed.rcvd
        got += 1


def test_it_answers_health_checks_and_nothing_but_its_stream(stream_server: StreamServerProcess) -> None:
    assert get(f"http://{stream_server.address}/healthz") == (200, "ok\n")
    assert get(f"http://{stream_server.address}/api/market/pairs")[0] == 404
    assert get(f"http://{stream_server.address}/ws/stream")[0] == 426  # a WebSocket, not a page
    assert "Traceback" not in stream_server.output()


def test_a_subscriber_that_stops_reading_is_closed_and_the_others_get_everything(
    stream_server: StreamServerProcess,
) -> None:
    # Given two subscribers to a market's trades: one reads, the other stops reading (its client
    # queues at most one message and then leaves the socket unread)
    with (
        subscribed(stream_server, ["trades:BTC-USDT"]) as reader,
        subscribed(stream_server, ["trades:BTC-USDT"], max_queue=1) as stalled,
    ):
        # When the engine publishes 8 MB of trades, far more than the stalled socket can buffer
        count, size = 400, 20_000
        received: list[int] = []
        for start in range(0, count, 50):
            publish((market_group("BTC-USDT"), trades_message(i, size)) for i in range(start, start + 50))
            while len(received) < start + 50:
                received.append(json.loads(reader.recv(timeout=TIMEOUT))["n"])

        # Then the reader got every message, in order, while the stalled one was cut off
        assert received == list(range(count))
        assert wait_for(lambda: "reads too slowly" in stream_server.output(), timeout=TIMEOUT)

        # and when it reads again, it finds what was sent before the limit, then close code 1008
        got, close = read_to_the_end(stalled)
        assert close is not None
        assert (close.code, close.reason) == (1008, "slow consumer")
        assert 0 < got < count
    assert "Traceback" not in stream_server.output()


def test_stopping_it_tells_every_client_it_is_going_away(stream_server: StreamServerProcess) -> None:
    with subscribed(stream_server, ["trades:BTC-USDT"]) as ws:
        stream_server.process.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1001
    assert stream_server.process.wait(timeout=TIMEOUT) == 0
    assert "stream server: stopped" in stream_server.output()
