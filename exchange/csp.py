"""The Content-Security-Policy header on every response (Django 5.2 has none built in).

Scripts only from this site (no inline scripts anywhere: the API docs load their start-up script as a
file too), styles from this site (inline style attributes allowed), images from this site and data:
URLs (QR codes), connections to this site (the API and /ws/stream), no frames, no plugins.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response
