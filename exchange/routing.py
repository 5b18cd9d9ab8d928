"""WebSocket routes: /ws/stream carries market data and the private user channel.

Who may connect is decided by the `Origin` header, which every browser sends with a WebSocket
handshake and no page script can change or remove. Origin checks exist to stop another site from
using a visitor's cookies, so:

- a browser (an `Origin`) must be on one of our hosts (ALLOWED_HOSTS), or it is refused with 403;
  its session cookie then authenticates it;
- a program (no `Origin`: bots, the `websockets` library, ccxt.pro) is let in, but its `Cookie`
  header is dropped before the session is read: it reads public channels and authenticates with a
  JWT or a signed API-key message, never with a session.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import URLPattern, URLResolver, path

from trading.consumers import StreamConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/stream", StreamConsumer.as_asgi(), name="stream"),
]
STREAM_PATHS = {"/ws/stream"}  # what the stream server (exchange.stream_server) answers; 404 elsewhere


class BrowserOrProgram:
    """Send browsers through the origin check and the session; programs past both, without cookies."""

    def __init__(self, application: Any) -> None:
        self.browser = AllowedHostsOriginValidator(AuthMiddlewareStack(application))
        self.program = AuthMiddlewareStack(application)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if any(name == b"origin" for name, _ in headers):
            await self.browser(scope, receive, send)
        else:
            cookieless = [(name, value) for name, value in headers if name != b"cookie"]
            await self.program(dict(scope, headers=cookieless), receive, send)


def websocket_application() -> BrowserOrProgram:
    """The application that serves every WebSocket connection (exchange.asgi)."""
    return BrowserOrProgram(URLRouter(websocket_urlpatterns))
