"""Publishing from synchronous code (exchange.core.streams): the background publisher the engine
hands its batches to, and publish() itself, against the real Redis channel layer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from exchange.core import streams

TIMEOUT = 10


def listen(groups: list[str], count: int, publishing: Callable[[], None]) -> dict[str, list[dict[str, Any]]]:
    """Join the groups (on one event loop, as a web process does), run `publishing` in a thread, and
    return the first `count` messages of each group."""

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        layer = get_channel_layer()
        channels = {group: await layer.new_channel() for group in groups}
        for group, channel in channels.items():
            await layer.group_add(group, channel)
        try:
            await sync_to_async(publishing, thread_sensitive=False)()
            return {
                group: [await asyncio.wait_for(layer.receive(channel), TIMEOUT) for _ in range(count)]
                for group, channel in channels.items()
            }
        finally:
            for group, channel in channels.items():
                await layer.group_discard(group, channel)

    return async_to_sync(scenario)()


def test_the_background_publisher_sends_in_the_order_handed_over_and_flush_waits_for_it() -> None:
    gate = threading.Event()
    made_in: list[str] = []

    def first() -> list[tuple[str, dict[str, Any]]]:
        gate.wait(5)  # the caller goes on while this one is still being made
        made_in.append(threading.current_thread().name)
        return [("test.order", {"type": "n", "n": 0})]

    def publishing() -> None:
        streams.publish_later(first)
        for n in range(1, 20):
            streams.publish_later(lambda n=n: [("test.order", {"type": "n", "n": n})])
        gate.set()
        streams.background.flush()

    received = listen(["test.order"], 20, publishing)["test.order"]
    assert [message["n"] for message in received] == list(range(20))
    assert made_in == ["stream-publisher"]


def test_a_failure_to_make_messages_is_logged_and_later_batches_still_go(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> list[tuple[str, dict[str, Any]]]:
        raise ValueError("a bug in building one batch's events")

    def publishing() -> None:
        streams.publish_later(broken)
        streams.publish_later(lambda: [("test.failure", {"type": "after"})])
        streams.background.flush()

    assert listen(["test.failure"], 1, publishing)["test.failure"] == [{"type": "after"}]
    assert "making messages to publish failed" in caplog.text


def test_publish_sends_each_groups_messages_in_order_across_many_groups() -> None:
    groups = [f"test.many.{i}" for i in range(3 * streams.IN_FLIGHT)]

    def publishing() -> None:
        streams.publish((group, {"type": "n", "n": n}) for n in range(3) for group in groups)

    for messages in listen(groups, 3, publishing).values():
        assert [message["n"] for message in messages] == [0, 1, 2]


def test_publish_from_a_thread_that_runs_an_event_loop_still_sends() -> None:
    # Sync code called from async code (a browser driver's loop, in the tests) cannot wait on a loop
    # of its own there: the publisher thread sends it instead
    def publishing() -> None:
        async def inside() -> None:
            streams.publish([("test.loop", {"type": "from-a-loop"})])

        asyncio.run(inside())
        streams.background.flush()

    assert listen(["test.loop"], 1, publishing)["test.loop"] == [{"type": "from-a-loop"}]
