"""python manage.py run_stream_server [--host H] [--port P]: /ws/stream on a process of its own.

See exchange/stream_server.py. STREAM_HOST and STREAM_PORT (default 127.0.0.1:8001) are the defaults of
--host and --port; several processes may share a port. SIGINT or SIGTERM stops it, closing every
connection with 1001 (going away): clients reconnect, to another process if there is one.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import uvloop
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from websockets.asyncio.server import Server

from exchange.routing import STREAM_PATHS, websocket_application
from exchange.stream_server import StreamServer


class Command(BaseCommand):
    help = "Serve /ws/stream from a process built for it (the websockets library)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("STREAM_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("STREAM_PORT", "8001")))

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        if options["verbosity"] < 2:  # the library logs every connection's opening and closing at INFO
            logging.getLogger("websockets").setLevel(logging.WARNING)
        server = StreamServer(
            websocket_application(),
            paths=STREAM_PATHS,
            send_buffer=settings.STREAM_SEND_BUFFER,
            compression=settings.STREAM_DEFLATE,
        )

        def ready(_server: Server) -> None:
            self.stdout.write(f"stream server: listening on ws://{host}:{port}/ws/stream", ending="\n")
            self.stdout.flush()

        uvloop.run(server.serve(host, port, ready=ready))
        self.stdout.write("stream server: stopped")
