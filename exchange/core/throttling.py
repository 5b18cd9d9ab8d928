"""Rate limits for the API: per user, or per address for anonymous requests, plus a tighter limit on
sensitive operations (a view's `rate_limit_scopes`, by method: login, register, otp, withdraw, order).
A request signed with an API key counts against its user's budget, as the user's own requests do (so
twenty keys get no more than one), and against the key's own limit, which may only be lower.
Counters are django-ratelimit's, in the Redis cache; over a limit the answer is 429 with
`Retry-After` in the API's error shape. The rates are settings (`RATE_LIMITS`); addresses are
exchange.core.client_address's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from exchange.core import client_address
from exchange.core.scopes import ApiKeyCredential

logger = logging.getLogger(__name__)


def identity(request: Request) -> tuple[str, str]:
    """(kind, id) of whose budget a request draws on: the user (whatever signed it), else the address."""
    user = request.user
    if user is not None and user.is_authenticated:
        return "user", f"user:{user.pk}"
    return "anon", f"ip:{client_address.of_request(request._request)}"


def seconds_over(request: HttpRequest, group: str, rate: str, who: str) -> int:
    """Count one request of `who` in `group`; return 0 if within `rate`, else the seconds until it resets.

    Fails open: without Redis, nothing is counted and nothing is refused.
    """
    try:
        usage = get_usage(request, group=group, key=lambda _g, _r: who, rate=rate, increment=True)
    except RedisError:
        logger.warning("rate limits: Redis unavailable, letting requests through", exc_info=True)
        return 0
    if usage is None or not usage["should_limit"]:
        return 0
    return max(1, int(usage["time_left"]))


class RateLimit(BaseThrottle):
    def __init__(self) -> None:
        self.time_left = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        kind, who = identity(request)
        rates = settings.RATE_LIMITS
        waits = [seconds_over(request._request, f"api:{kind}", rates[kind], who)]
        if isinstance(request.auth, ApiKeyCredential):
            waits.append(seconds_over(request._request, "api:api_key", rates["api_key"], f"key:{request.auth.pk}"))
        scope = getattr(view, "rate_limit_scopes", {}).get(request.method)
        if scope is not None:
            # Per user, whichever of the user's keys or tokens sent it; anonymous (login, register) per address.
            waits.append(seconds_over(request._request, f"api:{scope}", rates[scope], who))
        self.time_left = max(waits)
        return not self.time_left

    def wait(self) -> float | None:
        return float(self.time_left) if self.time_left else None


def over_page_limit(request: HttpRequest, scope: str) -> int:
    """Count one page POST against `scope`'s rate, per user (or address); return 0 or the seconds to wait."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        who = f"user:{user.pk}"
    else:
        who = f"ip:{client_address.of_request(request)}"
    return seconds_over(request, f"page:{scope}", settings.RATE_LIMITS[scope], who)


def page_rate_limit(scope: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Limit a page's form posts with the API's `scope` rate: over it, a 429 page with Retry-After."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST" and (wait := over_page_limit(request, scope)):
                response = render(request, "429.html", {"retry_after": wait}, status=429)
                response["Retry-After"] = str(wait)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
