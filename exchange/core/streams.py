"""Publishing to the channel layer from synchronous code (the engine, services after commit).

The layer is Redis pub/sub: one PUBLISH per message per group, whatever the number of subscribers;
each web process receives it once and hands it to its own consumers. Each thread publishes on an
event loop of its own that it keeps, so the layer's Redis connection is opened once, not per message.
Publishing never raises: what is published is already committed, and streams are built for
subscribers to notice a gap (book `seq`) or to reload (the user channel sends current state).
On the receiving side, `fanout()` joins each market-data group once per web process and hands every
message to the local subscribers (see Fanout).

When a credential ends (a session's logout, a user's JWT logout, an API key's revocation), its service
publishes `user.revoked` to the user's group on commit (`publish_revoked`): every stream it
authenticated drops the user channel and tells its client (trading.consumers).
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import logging
import queue
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
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


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


IN_FLIGHT = 16  # groups published to at once (Redis connections a publishing thread may hold)


def publish(messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Send (group, message) pairs; log and carry on if the layer is unreachable.

    Up to IN_FLIGHT groups are sent to at once (each on a connection of the layer's pool), so a
    batch that touched many users' groups costs a few round trips, not one per group; each group's
    messages go in the order given.
    """
    layer = get_channel_layer()
    by_group: dict[str, list[dict[str, Any]]] = {}
    for group, message in messages:
        by_group.setdefault(group, []).append(message)
    if layer is None or not by_group:
        return
    if _loop_running():
        # Sync code called from a thread that runs an event loop (a browser driver's, async code's):
        # this thread cannot wait on a loop of its own, so the publisher thread sends them.
        pairs = [(group, message) for group, in_order in by_group.items() for message in in_order]
        background.submit(lambda: pairs)
        return

    async def send(group: str, in_order: list[dict[str, Any]], room: asyncio.Semaphore) -> None:
        async with room:
            for message in in_order:
                await layer.group_send(group, message)

    async def send_all() -> None:
        room = asyncio.Semaphore(IN_FLIGHT)
        await asyncio.gather(*(send(group, in_order, room) for group, in_order in by_group.items()))

    try:
        _loop().run_until_complete(send_all())
    except Exception:
        logger.warning("streams: publishing to %d groups failed", len(by_group), exc_info=True)


class Background:
    """Publishing off the caller's thread, in the order handed over: the engine's batches.

    The engine hands over a batch's messages (as a function that makes them) right after its commit
    and goes on with the next batch while a thread of this process serializes and sends them. The
    queue is bounded: if Redis falls behind, the engine waits for room rather than piling up memory.
    What is queued when the process dies is lost, as a message Redis pub/sub drops would be; the
    streams are built for that (book `seq` gaps, the user channel sends current state).
    """

    def __init__(self, room: int = 256) -> None:
        self.queue: queue.Queue[Callable[[], Iterable[tuple[str, dict[str, Any]]]]] = queue.Queue(room)
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, make: Callable[[], Iterable[tuple[str, dict[str, Any]]]]) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="stream-publisher", daemon=True)
                self.thread.start()
        self.queue.put(make)

    def flush(self) -> None:
        """Return once everything handed over so far is sent (or failed and was logged)."""
        if self.thread is not None:
            self.queue.join()

    def _run(self) -> None:
        while True:
            make = self.queue.get()
            try:
                publish(make())
            except Exception:
                logger.exception("streams: making messages to publish failed")
            finally:
                self.queue.task_done()


background = Background()
atexit.register(background.flush)


def publish_later(make: Callable[[], Iterable[tuple[str, dict[str, Any]]]]) -> None:
    """Publish what `make` returns from the background thread, after everything handed over before."""
    background.submit(make)


def publish_to_users(user_ids: Iterable[int], message: dict[str, Any]) -> None:
    publish((user_group(user_id), message) for user_id in sorted(set(user_ids)))


class Credential(StrEnum):
    """What authenticated a stream."""

    SESSION = "session"
    JWT = "jwt"
    API_KEY = "api_key"


def session_ref(session_key: str) -> str:
    """Name a session on the channel layer by a digest: never the key itself, which signs one in."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def publish_revoked(*, user_id: int, credential: Credential, ref: str = "") -> None:
    """Sign out the user's streams authenticated by this credential; call it on commit.

    `ref` names one: a session's `session_ref`, an API key's id. Empty, it means every credential of
    that kind (a JWT logout: an access token does not say which refresh token it came from).
    """
    publish_to_users([user_id], {"type": "user.revoked", "credential": str(credential), "ref": ref})


P = ParamSpec("P")
R = TypeVar("R")


def in_db_thread(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Channels' database_sync_to_async, typed: run ORM code from a consumer."""
    return database_sync_to_async(function)  # type: ignore[no-any-return]


Deliver = Callable[[list[dict[str, Any]]], Awaitable[None]]  # the messages of a round, in order
YIELD_EVERY = 100  # deliveries between two turns of the event loop


class _Group:
    def __init__(self) -> None:
        self.members: dict[object, Deliver] = {}
        self.lock = asyncio.Lock()  # joining and leaving the layer's group, one at a time
        self.channel: str | None = None
        self.task: asyncio.Task[None] | None = None


class Fanout:
    """One channel-layer subscription per group in a web process, handed to each local member in turn.

    A consumer that joins a group on the layer gets its own queue there, and every message then costs
    a queue, a task and a decode per subscriber before the consumer even runs. Here the process joins
    each group once, on a channel of its own, decodes each message once, and awaits each member's
    `deliver` with the messages of a round, so every member sees the group's messages in order.
    """

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.groups: dict[str, _Group] = {}

    async def add(self, group: str, member: object, deliver: Deliver) -> None:
        """Return once the process is on the group, so a snapshot taken next misses nothing after it."""
        state = self.groups.setdefault(group, _Group())
        async with state.lock:
            if state.channel is None:
                state.channel = await self.layer.new_channel()
                await self.layer.group_add(group, state.channel)
                state.task = asyncio.create_task(self._relay(group, state, state.channel))
            state.members[member] = deliver

    async def discard(self, group: str, member: object) -> None:
        state = self.groups.get(group)
        if state is None:
            return
        async with state.lock:
            state.members.pop(member, None)
            if state.members or state.channel is None:
                return
            channel, task = state.channel, state.task
            state.channel = state.task = None
            await self.layer.group_discard(group, channel)
            if task is not None:
                task.cancel()

    async def _relay(self, group: str, state: _Group, channel: str) -> None:
        """Hand each member, in turn, everything that arrived since the last round.

        In a quiet market a round is one message. When messages come faster than a round takes,
        the next round carries several, and each member gets them in one write instead of one
        write (a send() and two epoll changes) per message: the fan-out catches up instead of
        falling further behind.
        """
        inbox: deque[dict[str, Any]] = deque()
        arrived = asyncio.Event()

        async def receive() -> None:
            while True:
                inbox.append(await self.layer.receive(channel))
                arrived.set()

        receiver = asyncio.create_task(receive())
        try:
            while True:
                await arrived.wait()
                arrived.clear()
                messages = list(inbox)
                inbox.clear()
                for i, (member, deliver) in enumerate(list(state.members.items()), 1):
                    try:
                        await deliver(messages)
                    except Exception:
                        logger.exception("streams: delivering %s messages to %r failed", group, member)
                    if i % YIELD_EVERY == 0:
                        # Let the loop write what is queued, take handshakes and receive: a thousand
                        # deliveries in one step would hold all of that back for tens of milliseconds.
                        await asyncio.sleep(0)
        finally:
            receiver.cancel()


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Fanout] = weakref.WeakKeyDictionary()


def fanout(layer: Any) -> Fanout:
    """The fan-out of the running event loop (a web process has one; tests make one per loop)."""
    loop = asyncio.get_running_loop()
    found = _fanouts.get(loop)
    if found is None or found.layer is not layer:
        found = _fanouts[loop] = Fanout(layer)
    return found
