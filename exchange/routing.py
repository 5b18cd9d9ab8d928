"""WebSocket routes. The /ws/stream consumer (market data and the user channel) plugs in here."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
