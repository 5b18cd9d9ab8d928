"""Django's Redis cache, with its connection pools and clients kept per process.

Django makes a cache object per thread and per async context (`django.core.cache.caches`), and each
one builds connection pools of its own. Under ASGI that is a cache object per request, so every
request opened a new TCP connection to Redis (one uvicorn worker, 50 requests: 51 connections), and
every cache call built a `redis.Redis` with its ~170 response callbacks. Here the pool and the client
of each server are made once per process and shared by every cache object. redis-py's pool is
thread-safe and starts afresh in a forked child.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    shared: ClassVar[dict[str, tuple[Any, Any]]] = {}  # (server, pool class, options) -> (pool, client)
    lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        django: Any = self  # Django's own attributes, which django-stubs leave out
        options_text = sorted((name, repr(value)) for name, value in django._pool_options.items())
        self.keys = [f"{server} {django._pool_class!r} {options_text}" for server in servers]

    def _shared(self, write: bool) -> tuple[Any, Any]:
        django: Any = self
        index = django._get_connection_pool_index(write)
        found = self.shared.get(self.keys[index])
        if found is None:
            with self.lock:
                found = self.shared.get(self.keys[index])
                if found is None:
                    pool = django._pool_class.from_url(django._servers[index], **django._pool_options)
                    found = self.shared[self.keys[index]] = (pool, django._client(connection_pool=pool))
        return found

    def _get_connection_pool(self, write: bool) -> Any:
        return self._shared(write)[0]

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        return self._shared(write)[1]


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
