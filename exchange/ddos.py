"""The DDoS guard: an IP sending more than a burst of requests within a sliding window is refused (429)
for a cooling-off period.

Counting is in Redis (a sorted set of request times per IP: add, trim, count in one round trip), so
every web process sees the same counts. The address is the one exchange.core.client_address decides (a
header the client sets counts for nothing). Addresses on the allowlist (health checks, internal networks)
and /healthz are never counted. If Redis cannot be reached the guard lets the request through and
logs it: a broken guard must never take the site down.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from exchange.core import client_address, redis
from exchange.core.errors import error_body

logger = logging.getLogger(__name__)

EXEMPT_PATHS = ("/healthz",)


@cache
def _allowlist(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def allowlisted(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _allowlist(tuple(settings.DDOS_ALLOWLIST)))


def check(ip: str) -> int:
    """Count one request from `ip`; return 0 to let it through, else the seconds to wait."""
    client = redis.client()
    banned = f"ddos:ban:{ip}"
    window = settings.DDOS_WINDOW_SECONDS
    now = time.time()
    hits = f"ddos:hits:{ip}"
    pipe = client.pipeline(transaction=False)
    pipe.ttl(banned)
    pipe.zadd(hits, {f"{now:.6f}:{secrets.token_hex(3)}": now})
    pipe.zremrangebyscore(hits, 0, now - window)
    pipe.zcard(hits)
    pipe.expire(hits, math.ceil(window))
    remaining, _, _, count, _ = pipe.execute()
    if isinstance(remaining, int) and remaining > 0:
        return remaining
    if count > settings.DDOS_BURST_REQUESTS:
        client.set(banned, 1, ex=settings.DDOS_BAN_SECONDS)
        logger.warning("ddos guard: %s sent %d requests in %d s; refused for %d s", ip, count, window,
                       settings.DDOS_BAN_SECONDS)  # fmt: skip
        return int(settings.DDOS_BAN_SECONDS)
    return 0


def refusal(request: HttpRequest, wait: int) -> HttpResponse:
    message = "Too many requests from your address: try again later."
    response: HttpResponse
    if request.path.startswith("/api/"):
        body = error_body("too_many_requests", message, {"retry_after": wait})
        response = JsonResponse(body, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response


class DdosGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ip = client_address.of_request(request)
        if settings.DDOS_GUARD and request.path not in EXEMPT_PATHS and not allowlisted(ip):
            try:
                wait = check(ip)
            except Exception:
                logger.warning("ddos guard: Redis unavailable, letting requests through", exc_info=True)
                wait = 0
            if wait:
                return refusal(request, wait)
        return self.get_response(request)
