"""A raw Redis client on the cache's server, for counters and sets the cache API does not offer."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def client() -> redis.Redis:
    """Strings in, strings out (decode_responses)."""
    location = settings.CACHES["default"]["LOCATION"]
    return redis.Redis.from_url(location, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)
