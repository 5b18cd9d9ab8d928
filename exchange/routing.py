"""WebSocket routes: /ws/stream carries market data and the private user channel."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from trading.consumers import StreamConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/stream", StreamConsumer.as_asgi(), name="stream"),
]
