"""The client's address: decided here, once, for HTTP requests and WebSockets alike.

It is the TCP peer, unless the peer is one of `TRUSTED_PROXIES` (CIDR ranges, none by default). Then
it is the right-most address of `X-Forwarded-For` that is not a trusted proxy: each proxy appends the
address it was reached from, so everything left of that was written by the client and proves
nothing. An entry that is not an IP address stops the walk at the nearest hop known for sure.

The answer is always a valid IP address in its normal form (IPv4-mapped IPv6 reads as IPv4, no zone):
a peer that is no IP address at all (a unix socket) is `UNKNOWN`. Rate limits, the DDoS guard,
failed-login counters, API-key whitelists, the audit log and its "new address" emails, and the
stream all take the address from here, never from a header or `REMOTE_ADDR` themselves.

daphne must run without `--proxy-headers` (it would believe the header from any peer), and the proxy
must overwrite the header, not append to what the client sent (deploy/nginx.conf).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The address of a peer that has none (a unix socket): an address to count by, not one to bind to.
UNKNOWN = "0.0.0.0"  # noqa: S104  # nosec B104
# Where a request keeps what was decided (META, so that a DRF request and its Django request share it).
META_KEY = "exchange.core.client_address"
PEER_META_KEY = "exchange.peer_address"


def _address(text: str | None) -> IPAddress | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return ipaddress.IPv6Address(str(address).split("%", 1)[0])
    return address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry) for entry in entries)


def decide(*, peer: str | None, forwarded_for: str, trusted: Iterable[str]) -> str:
    """Return the client's address from the TCP peer and the X-Forwarded-For header it sent."""
    networks = _networks(tuple(trusted))

    def is_trusted(address: IPAddress) -> bool:
        return any(address in network for network in networks)

    nearest = _address(peer)
    if nearest is None:
        return UNKNOWN
    if not is_trusted(nearest):
        return str(nearest)
    for entry in reversed(forwarded_for.split(",") if forwarded_for.strip() else []):
        address = _address(entry)
        if address is None:
            break  # a proxy we trust wrote nonsense, or passed on the client's: believe nothing further
        nearest = address
        if not is_trusted(address):
            break
    return str(nearest)


def of_request(request: HttpRequest) -> str:
    """Return the address of the client that sent this request."""
    decided = request.META.get(META_KEY)
    if decided is None:
        decided = decide(
            peer=request.META.get("REMOTE_ADDR"),
            forwarded_for=str(request.META.get("HTTP_X_FORWARDED_FOR", "")),
            trusted=settings.TRUSTED_PROXIES,
        )
        request.META[PEER_META_KEY] = request.META.get("REMOTE_ADDR")
        request.META[META_KEY] = decided
    return str(decided)


def of_scope(scope: Mapping[str, Any]) -> str:
    """Return the address of the client of an ASGI connection (a WebSocket), from its scope."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    values = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"]
    return decide(peer=peer, forwarded_for=",".join(values), trusted=settings.TRUSTED_PROXIES)


class ClientAddressMiddleware:
    """Decide the client's address first thing (before the DDoS guard) and put it in REMOTE_ADDR.

    REMOTE_ADDR then means the client for any code that reads it; the TCP peer stays under
    `exchange.peer_address`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META["REMOTE_ADDR"] = of_request(request)
        return self.get_response(request)
