"""Who may open /ws/stream and for how long it stays authenticated, end to end: the real `websockets`
client against each server of /ws/stream in a child process, daphne (exchange.asgi, as the web process
serves it) and the stream server (manage.py run_stream_server), on the real Redis channel layer.

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
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from accounts.models import User
from accounts.notifications import Notice
from accounts.services import change_password, issue_tokens, notify_user
from apikeys.services import NewKey, create_key
from exchange.routing import websocket_application
from trading import consumers
from trading.tests.factories import markets, trader
from trading.tests.processes import DaphneProcess, ServerProcess, StreamServerProcess

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10


@pytest.fixture(scope="module", params=[DaphneProcess, StreamServerProcess], ids=["daphne", "stream-server"])
def server(request: Any, django_db_setup: Any, django_db_blocker: Any) -> Iterator[ServerProcess]:
    with django_db_blocker.unblock():
        process = request.param()
    try:
        yield process
        assert "Traceback" not in process.output(), process.output()
    finally:
        process.stop()


@pytest.fixture
def alice(transactional_db: Any) -> User:
    markets()
    return trader("alice", BTC="1", USDT="1000")


def open_stream(server: ServerProcess, *, origin: str | None = None, session: str | None = None) -> ClientConnection:
    """A connection as a program makes it (no Origin), or as a browser on `origin`; with a session cookie."""
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"} if session else None
    return connect(
        f"ws://{server.address}/ws/stream",
        origin=Origin(origin) if origin else None,
        additional_headers=headers,
        open_timeout=TIMEOUT,
    )


def own_origin(server: ServerProcess) -> str:
    return f"http://{server.address}"


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
    server: ServerProcess, alice: User
) -> None:
    # Given a connection that sends no Origin, as the websockets library, ccxt.pro and bots do
    with open_stream(server) as ws:
        # Then public channels work, and a JWT authenticates the user channel
        assert_public_channels_work(ws)
        auth_jwt(ws, alice)
        on_user_channel(ws)


def test_a_session_cookie_without_origin_authenticates_nothing(server: ServerProcess, alice: User) -> None:
    # Given alice's valid session cookie, sent by something that is not a browser
    _, session = signed_in_browser(alice)
    with open_stream(server, session=session) as ws:
        # Then the connection is accepted but anonymous: the cookie is ignored
        send(ws, {"op": "subscribe", "channels": ["user"]})
        refused = receive(ws)
        assert (refused["type"], refused["code"]) == ("error", "not_authenticated")
        assert_public_channels_work(ws)


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example"])
def test_a_browser_on_a_foreign_origin_is_refused(server: ServerProcess, alice: User, origin: str) -> None:
    _, session = signed_in_browser(alice)
    with pytest.raises(InvalidStatus) as refused:
        open_stream(server, origin=origin, session=session)
    assert refused.value.response.status_code == 403


def test_a_browser_on_our_origin_is_authenticated_by_its_session(server: ServerProcess, alice: User) -> None:
    _, session = signed_in_browser(alice)
    with open_stream(server, origin=own_origin(server), session=session) as ws:
        on_user_channel(ws)
        assert_public_channels_work(ws)


# --- the end of an authentication (issue 13, point 5) ---------------------------------------------


def test_signing_out_of_a_session_signs_out_its_sockets_and_no_other(server: ServerProcess, alice: User) -> None:
    # Given alice signed in in two browsers, each page on the user channel
    browser, session = signed_in_browser(alice)
    _, other_session = signed_in_browser(alice)
    with (
        open_stream(server, origin=own_origin(server), session=session) as ws,
        open_stream(server, origin=own_origin(server), session=other_session) as other,
    ):
        on_user_channel(ws)
        on_user_channel(other)

        # When she signs out in the first browser
        assert browser.post(reverse("accounts:logout")).status_code == 302

        # Then its page loses the user channel and is told so, the other page keeps it
        assert_signed_out(ws, "session_ended")
        assert_public_channels_work(ws)
        notify_user(Notice(user_id=alice.pk, title="Still here", body=""), email=False)
        assert receive_until(other, "notification")["title"] == "Still here"
        assert nothing_more(ws)


def test_a_jwt_logout_signs_out_the_users_jwt_sockets(server: ServerProcess, alice: User) -> None:
    # Given a program authenticated with an access token, on the user channel
    tokens = issue_tokens(user=alice)
    with open_stream(server) as ws:
        auth_jwt(ws, alice, tokens.access)
        on_user_channel(ws)

        # When alice logs out through the API (her refresh token is blacklisted)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
        assert api.post("/api/auth/logout", {"refresh": tokens.refresh}, format="json").status_code == 204

        # Then the socket is signed out
        assert_signed_out(ws, "token_revoked")
        assert_public_channels_work(ws)


def test_an_access_token_that_expires_ends_the_authentication_it_gave(server: ServerProcess, alice: User) -> None:
    # Given a socket authenticated with an access token that expires in two seconds
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=2))
    with open_stream(server) as ws:
        auth_jwt(ws, alice, str(token))
        on_user_channel(ws)
        started = time.monotonic()

        # Then, with nothing published, it is signed out when the token expires
        assert_signed_out(ws, "token_expired")
        assert 1 <= time.monotonic() - started < 5


def test_a_fresh_access_token_before_the_expiry_keeps_the_user_channel(server: ServerProcess, alice: User) -> None:
    # Given a socket on the user channel with a token about to expire
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=2))
    with open_stream(server) as ws:
        auth_jwt(ws, alice, str(token))
        on_user_channel(ws)
        # When the client sends a fresh one in time, as a client refreshing its token does
        auth_jwt(ws, alice)
        # Then nothing ends at the first token's expiry, and the user channel still carries her events
        assert nothing_more(ws, wait=3)
        notify_user(Notice(user_id=alice.pk, title="Still here", body=""), email=False)
        assert receive_until(ws, "notification")["title"] == "Still here"


def test_revoking_an_api_key_signs_out_the_sockets_it_authenticated(server: ServerProcess, alice: User) -> None:
    # Given two programs, each authenticated by an API key of its own
    revoked = create_key(user=alice, label="old bot", scopes=["read"])
    kept = create_key(user=alice, label="new bot", scopes=["read"])
    with open_stream(server) as ws, open_stream(server) as other:
        auth_api_key(ws, alice, revoked)
        auth_api_key(other, alice, kept)
        on_user_channel(ws)
        on_user_channel(other)

        # When alice revokes the first key
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=alice).access}")
        assert api.delete(f"/api/api-keys/{revoked.api_key.pk}").status_code == 200

        # Then its socket is signed out, the other one's goes on
        assert_signed_out(ws, "api_key_revoked")
        notify_user(Notice(user_id=alice.pk, title="Still here", body=""), email=False)
        assert receive_until(other, "notification")["title"] == "Still here"


def test_a_password_change_signs_out_the_other_sessions_and_the_jwt_sockets(server: ServerProcess, alice: User) -> None:
    # Given alice on the user channel in a browser and in a program, and bob in his browser
    _, session = signed_in_browser(alice)
    bob = trader("bob", USDT="10")
    _, bobs_session = signed_in_browser(bob)
    with (
        open_stream(server, origin=own_origin(server), session=session) as page,
        open_stream(server) as program,
        open_stream(server, origin=own_origin(server), session=bobs_session) as bobs_page,
    ):
        on_user_channel(page)
        auth_jwt(program, alice)
        on_user_channel(program)
        on_user_channel(bobs_page)

        # When she changes her password
        alice.set_password("old-password-1")
        alice.save(update_fields=["password"])
        change_password(user=alice, old_password="old-password-1", new_password="a-new-Passw0rd!")

        # Then both her sockets are signed out, and bob's is not
        assert_signed_out(page, "session_ended")
        assert_signed_out(program, "token_revoked")
        assert nothing_more(bobs_page)


def test_a_page_reloaded_after_an_order_leaves_no_error_behind(server: ServerProcess, alice: User) -> None:
    # Given the trade page's connection, closed and opened again (issue 12, as a browser does it)
    _, session = signed_in_browser(alice)
    channels = ["book:BTC-USDT", "trades:BTC-USDT", "ticker:BTC-USDT", "candles:BTC-USDT:1m", "user"]
    for _ in range(2):
        with open_stream(server, origin=own_origin(server), session=session) as ws:
            send(ws, {"op": "subscribe", "channels": channels})
            receive_until(ws, "balances")
    # Then the server logged no error (the module's fixture checks its whole log at the end too)
    time.sleep(0.5)
    assert "Traceback" not in server.output()


# --- the periodic re-check, for an event that never came --------------------------------------------


def test_a_session_that_ends_without_an_event_is_noticed_by_the_periodic_recheck(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a page on the user channel, and re-checks every half second
    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.5)
    _, session = signed_in_browser(alice)
    headers = [(b"origin", b"http://testserver"), (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]

    async def scenario() -> None:
        ws = WebsocketCommunicator(websocket_application(), "/ws/stream", headers=headers)
        connected, _ = await ws.connect()
        assert connected
        await ws.send_json_to({"op": "subscribe", "channels": ["user"]})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "subscribed", "channel": "user"}
        assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "balances"

        # When the session disappears behind the stream's back (no logout, so nothing is published)
        await sync_to_async(forget_every_session)()

        # Then the socket notices within a re-check
        message = await ws.receive_json_from(timeout=TIMEOUT)
        assert message == {"type": "unsubscribed", "channel": "user", "reason": "session_ended"}
        assert (await ws.receive_json_from(timeout=TIMEOUT))["code"] == "session_ended"
        await ws.disconnect()

    async_to_sync(scenario)()


def forget_every_session() -> None:
    """Delete the sessions from the database and the cache, as an expiry or a purge would, unannounced."""
    Session.objects.all().delete()
    cache.clear()
