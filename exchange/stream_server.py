"""The stream server: /ws/stream served by a process of its own, on the `websockets` library.

The web process (gunicorn's uvicorn workers, or daphne) serves /ws/stream too, through the same ASGI
application; this server exists for the per-frame cost. A market-data frame is the same bytes for
every subscriber (the engine serialized the text once, server frames are not masked, compression is
off), so it is framed once and written to each subscriber's socket as it is, with no ASGI server
between: no message dict per frame and subscriber, no per-frame flow-control wait.

It hosts the same ASGI application as the web process (exchange.routing.websocket_application): the
origin check, the session, JWT and API-key authentication and every channel are the consumer's own
code, unchanged. Per connection the server plays the ASGI server's part: it builds the scope from the
handshake, feeds `websocket.connect` and the client's messages, and writes what the application sends.
The application accepts or refuses during the handshake (a foreign `Origin` gets 403 before any
upgrade), as it would under daphne.

Writes never wait. A subscriber that does not read (a stalled client, a slow link) makes its socket's
write buffer grow; past STREAM_SEND_BUFFER bytes the server stops writing to it and closes it with
code 1008 and the reason `slow consumer` (the close frame follows what is already buffered; the
socket is cut after close_timeout if the client never reads it). Everyone else is never delayed by it.

    manage.py run_stream_server [--host 127.0.0.1] [--port 8001]

Several processes may listen on one port (SO_REUSEPORT): the kernel spreads the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

logger = logging.getLogger(__name__)

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[..., Awaitable[None]]], Awaitable[None]
]

SLOW_CONSUMER = 1008  # policy violation: the client did not read what it asked for
ACCEPT_TIMEOUT = 10.0  # seconds the application has to accept or refuse a handshake
INBOX = 16  # client messages queued for the application before the server stops reading the socket


class _Frames:
    """Serialized text frames, by the text object they were made from.

    The fan-out hands the same `str` to every subscriber of a round, so its frame is made once per
    round; a text seen once (a control message) costs one dictionary entry until the next clear.
    """

    KEEP = 64

    def __init__(self) -> None:
        self.frames: dict[int, tuple[str, bytes]] = {}

    def of(self, text: str) -> bytes:
        found = self.frames.get(id(text))
        if found is not None and found[0] is text:
            return found[1]
        frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
        if len(self.frames) >= self.KEEP:
            self.frames.clear()
        self.frames[id(text)] = (text, frame)  # the text is kept with it, so its id is not reused
        return frame


class _Session:
    """One connection as the ASGI application sees it: its scope, receive and send."""

    def __init__(self, server: StreamServer, connection: ServerConnection, request: Request) -> None:
        self.server = server
        self.connection = connection
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(INBOX)
        self.answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.open = False  # the 101 response is out: frames may be written
        self.early: list[str | bytes] = []  # what the application sent between its accept and the 101
        self.dropped = False
        self.task = asyncio.ensure_future(self._run(self._scope(request)))

    def _scope(self, request: Request) -> dict[str, Any]:
        path, _, query = request.path.partition("?")
        client = self.connection.remote_address
        server = self.connection.local_address
        return {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in request.headers.raw_items()
            ],
            "client": (client[0], client[1]) if client else None,
            "server": (server[0], server[1]) if server else None,
            "subprotocols": [],
            "state": {},
        }

    async def _run(self, scope: dict[str, Any]) -> None:
        code = 1000  # the application returned: the connection ends with it (a no-op once closed)
        try:
            await self.server.app(scope, self.receive, self.send)
        except Exception:
            logger.exception("stream server: the application failed on %s", scope["path"])
            code = 1011
        finally:
            if not self.answer.done():
                self.answer.set_result({"type": "websocket.close", "code": 1011})
            elif self.open and not self.dropped:
                self._close(code, "")

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            text = message.get("text")
            self.write(text if text is not None else message["bytes"])
        elif kind in ("websocket.accept", "websocket.close") and not self.answer.done():
            self.answer.set_result(message)
        elif kind == "websocket.close":
            self._close(int(message.get("code") or 1000), str(message.get("reason") or ""))

    def write(self, data: str | bytes) -> None:
        """Write a message now, or drop the subscriber whose unread data passed the limit."""
        if self.dropped:
            return
        if not self.open:
            self.early.append(data)
            return
        connection = self.connection
        protocol = connection.protocol
        if protocol.state is not State.OPEN:
            return
        transport = connection.transport
        if isinstance(data, str) and not protocol.extensions:
            transport.write(self.server.frames.of(data))  # the round's one frame, as it is
        else:  # bytes, or permessage-deflate (STREAM_DEFLATE): each connection compresses its own
            protocol.send_text(data.encode()) if isinstance(data, str) else protocol.send_binary(data)
            connection.send_data()
        if transport.get_write_buffer_size() > self.server.send_buffer:
            self.dropped = True
            logger.info(
                "stream server: %s reads too slowly (%d bytes unsent): closing it",
                connection.remote_address,
                transport.get_write_buffer_size(),
            )
            self._close(SLOW_CONSUMER, "slow consumer")

    def _close(self, code: int, reason: str) -> None:
        task = asyncio.ensure_future(self.connection.close(code, reason))
        self.server.closing.add(task)
        task.add_done_callback(self.server.closing.discard)

    async def serve(self) -> None:
        """After the 101: flush what came early, feed the client's messages, then the disconnect."""
        self.open = True
        for data in self.early:
            self.write(data)
        self.early.clear()
        try:
            async for message in self.connection:
                key = "text" if isinstance(message, str) else "bytes"
                await self.inbox.put({"type": "websocket.receive", key: message})
        except ConnectionClosed:
            pass
        finally:
            await self.disconnect()

    async def disconnect(self) -> None:
        code = self.connection.close_code or 1006
        # Never blocks on a full inbox: the application is told at once, whatever it has not read.
        while self.inbox.full():
            self.inbox.get_nowait()
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": code})
        try:
            await asyncio.wait_for(asyncio.shield(self.task), ACCEPT_TIMEOUT)
        except TimeoutError:
            self.task.cancel()


class StreamServer:
    """The ASGI WebSocket application behind a `websockets` server."""

    def __init__(self, app: ASGIApp, *, paths: set[str], send_buffer: int, compression: bool = False) -> None:
        self.app = app
        self.paths = paths
        self.send_buffer = send_buffer
        self.compression = compression
        self.frames = _Frames()
        self.sessions: dict[ServerConnection, _Session] = {}
        self.closing: set[asyncio.Future[None]] = set()

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.partition("?")[0]
        if path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if path not in self.paths:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not found.\n")
        return None

    async def process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        """Let the application accept or refuse a valid handshake before the 101 goes out."""
        if response.status_code != HTTPStatus.SWITCHING_PROTOCOLS:
            return None
        session = _Session(self, connection, request)
        await session.inbox.put({"type": "websocket.connect"})
        try:
            answer = await asyncio.wait_for(asyncio.shield(session.answer), ACCEPT_TIMEOUT)
        except TimeoutError:
            answer = {"type": "websocket.close", "code": 1011}
        if answer["type"] == "websocket.accept":
            headers = answer.get("headers") or []
            for name, value in headers:
                response.headers[name.decode("latin-1")] = value.decode("latin-1")
            self.sessions[connection] = session
            return None
        session.inbox.put_nowait({"type": "websocket.disconnect", "code": answer.get("code") or 1000})
        status = HTTPStatus.INTERNAL_SERVER_ERROR if answer.get("code") == 1011 else HTTPStatus.FORBIDDEN
        return connection.respond(status, "Refused.\n")

    async def handler(self, connection: ServerConnection) -> None:
        session = self.sessions.pop(connection)
        await session.serve()

    async def serve(
        self, host: str, port: int, *, reuse_port: bool = True, ready: Callable[[Server], None] | None = None
    ) -> None:
        """Serve until SIGINT or SIGTERM; then close every connection with 1001 (going away)."""
        async with serve(
            self.handler,
            host,
            port,
            process_request=self.process_request,
            process_response=self.process_response,
            compression="deflate" if self.compression else None,
            server_header=None,
            max_size=2**16,  # client messages are small: a subscribe list at most
            max_queue=INBOX,
            reuse_port=reuse_port,
        ) as server:
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            if ready is not None:
                ready(server)
            await stop.wait()
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 15)
