"""Rate limits for the API: per API key, per user, or per address for anonymous requests, plus a
tighter limit on sensitive operations (a view's `rate_limit_scopes`, by method: login, register,
otp, withdraw, order). Counters are django-ratelimit's, in the Redis cache; over a limit the answer is 429 with
`Retry-After` in the API's error shape. The rates are settings (`RATE_LIMITS`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apikeys.models import ApiKey

logger = logging.getLogger(__name__)


def identity(request: Request) -> tuple[str, str]:
    """(kind, id): the API key, else the user, else the client's address."""
    if isinstance(request.auth, ApiKey):
        return "api_key", f"key:{request.auth.pk}"
    user = request.user
    if user is not None and user.is_authenticated:
        return "user", f"user:{user.pk}"
    return "anon", f"ip:{request.META.get('REMOTE_ADDR', '')}"


class RateLimit(BaseThrottle):
    def __init__(self) -> None:
        self.time_left = 0

    def _over(self, request: Request, group: str, rate: str, who: str) -> bool:
        try:
            usage = get_usage(request._request, group=group, key=lambda _g, _r: who, rate=rate, increment=True)
        except RedisError:
            logger.warning("rate limits: Redis unavailable, letting requests through", exc_info=True)
            return False
        if usage is None or not usage["should_limit"]:
            return False
        self.time_left = max(self.time_left, int(usage["time_left"]), 1)
        return True

    def allow_request(self, request: Request, view: Any) -> bool:
        kind, who = identity(request)
        rates = settings.RATE_LIMITS
        over = self._over(request, f"api:{kind}", rates[kind], who)
        scope = getattr(view, "rate_limit_scopes", {}).get(request.method)
        if scope is not None:
            # Anonymous sensitive operations (login, register) are limited per address.
            over = self._over(request, f"api:{scope}", rates[scope], who) or over
        return not over

    def wait(self) -> float | None:
        return float(self.time_left) if self.time_left else None
