"""Who may open /ws/stream and for how long it stays authenticated, end to end: the real `websockets`
client against daphne in a child process (exchange.asgi, as served), on the real Redis channel layer.

- A connection without `Origin` is not a browser (a bot, ccxt.pro): it may read public channels and
  authenticate with a JWT or a signed API-key message, never with a session cookie, which is ignored.
  A browser's `Origin` must be one of ours (issue 13, point 7).
- A socket's authentication ends, within seconds, when what authenticated it ends: the session's
  logout, the JWT's expiry or its user's JWT logout, the API key's revocation. The user channel is
  dropped and the client told; public channels go on (issue 13, point 5).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from accounts.models import User
from accounts.services import issue_tokens
from apikeys.services import NewKey
from trading.tests.factories import markets, trader
from trading.tests.processes import DaphneProcess

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10


@pytest.fixture(scope="module")
def daphne(django_db_setup: Any, django_db_blocker: Any) -> Iterator[DaphneProcess]:
    with django_db_blocker.unblock():
        process = DaphneProcess()
    try:
        yield process
        assert "Traceback" not in process.output(), process.output()
    finally:
        process.stop()


@pytest.fixture
def alice(transactional_db: Any) -> User:
    markets()
    return trader("alice", BTC="1", USDT="1000")


def open_stream(daphne: DaphneProcess, *, origin: str | None = None, session: str | None = None) -> ClientConnection:
    """A connection as a program makes it (no Origin), or as a browser on `origin`; with a session cookie."""
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"} if session else None
    return connect(
        f"ws://{daphne.address}/ws/stream",
        origin=Origin(origin) if origin else None,
        additional_headers=headers,
        open_timeout=TIMEOUT,
    )


def own_origin(daphne: DaphneProcess) -> str:
    return f"http://{daphne.address}"


def signed_in_browser(user: User) -> tuple[Client, str]:
    """A browser signed in to the site: its client (for the pages) and its session cookie."""
    browser = Client()
    browser.force_login(user)
    return browser, browser.cookies[settings.SESSION_COOKIE_NAME].value


def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    ws.send(json.dumps(message))


def receive(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=timeout)))


def receive_until(ws: ClientConnection, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = receive(ws, max(0.05, deadline - time.monotonic()))
        if message["type"] == kind:
            return message


def nothing_more(ws: ClientConnection, wait: float = 0.5) -> bool:
    try:
        message = ws.recv(timeout=wait)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected: {message!r}")


def on_user_channel(ws: ClientConnection) -> None:
    send(ws, {"op": "subscribe", "channels": ["user"]})
    assert receive(ws) == {"type": "subscribed", "channel": "user"}
    assert receive(ws)["type"] == "balances"


def auth_jwt(ws: ClientConnection, user: User, token: str | None = None) -> None:
    send(ws, {"op": "auth", "token": token or issue_tokens(user=user).access})
    assert receive(ws) == {"type": "authenticated", "user_id": user.pk}


def auth_api_key(ws: ClientConnection, user: User, key: NewKey) -> None:
    timestamp = str(int(time.time() * 1000))
    signature = hmac.new(key.secret.encode(), f"{timestamp}GET/ws/stream".encode(), hashlib.sha256).hexdigest()
    send(ws, {"op": "auth", "key": key.key, "timestamp": timestamp, "signature": signature})
    assert receive(ws) == {"type": "authenticated", "user_id": user.pk}


def assert_signed_out(ws: ClientConnection, code: str) -> None:
    """The user channel is dropped and the client told why; it is anonymous from then on."""
    assert receive(ws) == {"type": "unsubscribed", "channel": "user", "reason": code}
    told = receive(ws)
    assert (told["type"], told["code"]) == ("unauthenticated", code)
    send(ws, {"op": "subscribe", "channels": ["user"]})
    refused = receive(ws)
    assert (refused["type"], refused["code"]) == ("error", "not_authenticated")


def assert_public_channels_work(ws: ClientConnection) -> None:
    send(ws, {"op": "subscribe", "channels": ["ticker:BTC-USDT"]})
    assert receive(ws) == {"type": "subscribed", "channel": "ticker:BTC-USDT"}
    assert receive(ws)["type"] == "ticker"


# --- Origin (issue 13, point 7) -----------------------------------------------------------------


def test_a_program_without_origin_reads_public_channels_and_authenticates_with_a_jwt(
    daphne: DaphneProcess, alice: User
) -> None:
    # Given a connection that sends no Origin, as the websockets library, ccxt.pro and bots do
    with open_stream(daphne) as ws:
        # Then public channels work, and a JWT authenticates the user channel
        assert_public_channels_work(ws)
        auth_jwt(ws, alice)
        on_user_channel(ws)


def test_a_session_cookie_without_origin_authenticates_nothing(daphne: DaphneProcess, alice: User) -> None:
    # Given alice's valid session cookie, sent by something that is not a browser
    _, session = signed_in_browser(alice)
    with open_stream(daphne, session=session) as ws:
        # Then the connection is accepted but anonymous: the cookie is ignored
        send(ws, {"op": "subscribe", "channels": ["user"]})
        refused = receive(ws)
        assert (refused["type"], refused["code"]) == ("error", "not_authenticated")
        assert_public_channels_work(ws)


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example"])
def test_a_browser_on_a_foreign_origin_is_refused(daphne: DaphneProcess, alice: User, origin: str) -> None:
    _, session = signed_in_browser(alice)
    with pytest.raises(InvalidStatus) as refused:
        open_stream(daphne, origin=origin, session=session)
    assert refused.value.response.status_code == 403


def test_a_browser_on_our_origin_is_authenticated_by_its_session(daphne: DaphneProcess, alice: User) -> None:
    _, session = signed_in_browser(alice)
    with open_stream(daphne, origin=own_origin(daphne), session=session) as ws:
        on_user_channel(ws)
        assert_public_channels_work(ws)
