"""A raw Redis client on the cache's server, for counters and sets the cache API does not offer.

Short timeouts: its callers (the DDoS guard, API-key usage) fail open rather than wait."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def client() -> redis.Redis:
    """Strings in, strings out (decode_responses)."""
    location = settings.CACHES["default"]["LOCATION"]
    return redis.Redis.from_url(location, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True)
