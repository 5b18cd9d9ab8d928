"""The exchange's URLs and `/bench/bare`, the baseline view bench_rest.py compares every endpoint with."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path


def bare(_request: HttpRequest) -> JsonResponse:
    """A Django view and nothing else: what the framework costs per request under the same server."""
    return JsonResponse({"symbol": "BTC-USDT", "price": "60000.00"})


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/bare", bare),
    path("", include("exchange.urls")),
]
