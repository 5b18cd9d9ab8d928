"""The web process's worker: uvicorn under gunicorn, with what the exchange needs of it.

- No proxy headers: uvicorn would otherwise take the client's address from X-Forwarded-For sent
  by any local peer. The application decides the address itself (exchange/core/client_address.py),
  believing the header only from TRUSTED_PROXIES.
- No `Server` header, and WebSocket frames uncompressed (permessage-deflate costs CPU per frame for
  every subscriber of a book that changes many times a second, and daphne never offered it either).
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        "proxy_headers": False,
        "server_header": False,
        "ws_per_message_deflate": False,
        "lifespan": "off",  # Django's ASGI handler speaks HTTP only; Channels adds the WebSocket
    }
