"""The Content-Security-Policy header on every response (Django 5.2 has none built in).

Scripts only from this site (no inline scripts anywhere: the API docs load their start-up script as a
file too), styles from this site (inline style attributes allowed), images from this site and data:
URLs (QR codes), connections to this site (the API and /ws/stream) and to the stream server where
STREAM_URL puts it elsewhere (its origin joins connect-src), no frames, no plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from exchange.context_processors import stream_url


@lru_cache(maxsize=64)
def with_connection_to(policy: str, url: str) -> str:
    """The policy with `url`'s origin added to connect-src (a connect-src of 'self' if it has none)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    directives = [directive.strip() for directive in policy.split(";") if directive.strip()]
    for i, directive in enumerate(directives):
        if directive.split()[0] == "connect-src":
            directives[i] = f"{directive} {origin}"
            break
    else:
        directives.append(f"connect-src 'self' {origin}")
    return "; ".join(directives)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            url = stream_url(request)
            response["Content-Security-Policy"] = with_connection_to(policy, url) if url else policy
        return response
