"""The exchange project: settings, URLs, ASGI application and the Celery app."""

from __future__ import annotations

from exchange.celery import app as celery_app

__all__ = ["celery_app"]
