"""The DDoS guard bans a bursting address, releases it after the cooling-off, spares the allowlist and
/healthz, and fails open when Redis is away."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings

from exchange.core import redis

GUARD = {"DDOS_GUARD": True, "DDOS_WINDOW_SECONDS": 3, "DDOS_BURST_REQUESTS": 5, "DDOS_BAN_SECONDS": 2}


def hit(path: str = "/api/market/pairs", ip: str = "203.0.113.9") -> Any:
    return Client(REMOTE_ADDR=ip).get(path)


@pytest.mark.django_db
@override_settings(**GUARD, DDOS_ALLOWLIST=["10.0.0.0/8"])
def test_a_burst_is_refused_until_the_ban_ends() -> None:
    for _ in range(5):
        assert hit().status_code == 200
    refused = hit()
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused["Retry-After"]) <= 2
    assert hit("/").status_code == 429  # pages too
    assert hit(ip="203.0.113.10").status_code == 200  # another address is not affected
    assert hit("/healthz").status_code in (200, 503)  # health checks are never counted
    for _ in range(20):
        assert hit(ip="10.1.2.3").status_code == 200  # the allowlist is never counted
    time.sleep(3.1)  # the cooling-off is over, and the window has moved on
    assert hit().status_code == 200


@pytest.mark.django_db
@override_settings(**GUARD, CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                                "LOCATION": "redis://127.0.0.1:1/0"}})  # fmt: skip
def test_without_redis_the_guard_lets_requests_through(caplog: Any) -> None:
    redis.client.cache_clear()
    try:
        for _ in range(10):
            assert hit("/api/market/pairs").status_code == 200
    finally:
        redis.client.cache_clear()
    assert "ddos guard: Redis unavailable" in caplog.text


@pytest.mark.django_db
def test_every_response_carries_a_content_security_policy() -> None:
    for path in ("/", "/api/market/pairs", "/api/docs", "/login"):
        policy = Client().get(path)["Content-Security-Policy"]
        assert "script-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
    docs = Client().get("/api/docs").content.decode()
    assert "<script>" not in docs  # its start-up script is a file, as the policy wants
    assert Client().get("/api/docs?script=").status_code == 200


@pytest.mark.django_db
@override_settings(STREAM_URL="ws://{host}:8001/ws/stream", ALLOWED_HOSTS=["localhost", "127.0.0.1"])
def test_a_stream_server_elsewhere_is_where_the_pages_connect_and_all_the_policy_allows() -> None:
    # Given the stream server on its own port (as `make run` has it): a page served from either host
    for host in ("localhost", "127.0.0.1"):
        response = Client().get("/markets", HTTP_HOST=f"{host}:8000")
        # Then its scripts open the stream on the same host, its port, and the policy allows just that
        assert f'data-stream-url="ws://{host}:8001/ws/stream"' in response.content.decode()
        directives = [d.strip() for d in response["Content-Security-Policy"].split(";")]
        assert f"connect-src 'self' ws://{host}:8001" in directives
        assert "script-src 'self'" in directives


@pytest.mark.django_db
def test_without_a_stream_url_the_pages_connect_to_their_own_host() -> None:
    response = Client().get("/markets")
    assert "data-stream-url" not in response.content.decode()
    assert "connect-src 'self';" in response["Content-Security-Policy"]
