"""The cache backend (exchange.core.cache): one Redis connection pool and client per process, whatever
the number of cache objects Django makes (one per thread and per async context: under ASGI, per request)."""

from __future__ import annotations

import threading

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache, caches

from exchange.core.cache import RedisCache


def test_cache_objects_of_other_threads_and_contexts_share_one_pool_and_client() -> None:
    clients = []

    def use() -> None:
        caches["default"].set("shared", 1)  # a cache object of this thread (or context)
        clients.append(caches["default"]._cache.get_client(write=True))

    threads = [threading.Thread(target=use) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    async def in_a_context() -> None:
        use()

    async_to_sync(in_a_context)()
    use()
    assert len(clients) == 5
    assert len({id(client) for client in clients}) == 1
    assert cache.get("shared") == 1


def test_a_cache_on_another_server_gets_a_pool_of_its_own() -> None:
    other = RedisCache(settings.CACHES["default"]["LOCATION"].rsplit("/", 1)[0] + "/13", {})
    assert other._cache.get_client() is not cache._cache.get_client()
    other.set("apart", 1)
    assert cache.get("apart") is None
    other.delete("apart")
