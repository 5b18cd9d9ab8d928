"""Publishing to the channel layer from synchronous code (the engine, services after commit).

The layer is Redis pub/sub: one PUBLISH per message per group, whatever the number of subscribers;
each web process receives it once and hands it to its own consumers. Each thread publishes on an
event loop of its own that it keeps, so the layer's Redis connection is opened once, not per message.
Publishing never raises: what is published is already committed, and streams are built for
subscribers to notice a gap (book `seq`) or to reload (the user channel sends current state).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

_local = threading.local()


def _loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    return loop


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish(messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Send (group, message) pairs; log and carry on if the layer is unreachable."""
    layer = get_channel_layer()
    batch = list(messages)
    if layer is None or not batch:
        return

    async def send_all() -> None:
        for group, message in batch:
            await layer.group_send(group, message)

    try:
        _loop().run_until_complete(send_all())
    except Exception:
        logger.warning("streams: publishing %d messages failed", len(batch), exc_info=True)


def publish_to_users(user_ids: Iterable[int], message: dict[str, Any]) -> None:
    publish((user_group(user_id), message) for user_id in sorted(set(user_ids)))


P = ParamSpec("P")
R = TypeVar("R")


def in_db_thread(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Channels' database_sync_to_async, typed: run ORM code from a consumer."""
    return database_sync_to_async(function)  # type: ignore[no-any-return]
