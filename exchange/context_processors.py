"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.request import split_domain_port


def stream_url(request: HttpRequest) -> str:
    """Where this page's scripts open /ws/stream: STREAM_URL with `{host}` as the page's host; "" for this host."""
    if not settings.STREAM_URL:
        return ""
    try:
        host, _port = split_domain_port(request.get_host())
    except DisallowedHost:  # answered with 400 already; its error page needs no stream
        return ""
    return str(settings.STREAM_URL).replace("{host}", host)  # an IPv6 address keeps its brackets


def site(request: HttpRequest) -> dict[str, object]:
    """Return the site name and the stream's address for the page layout."""
    return {"SITE_NAME": settings.SITE_NAME, "STREAM_URL": stream_url(request)}
