"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Return the site name for the page layout."""
    return {"SITE_NAME": settings.SITE_NAME}
