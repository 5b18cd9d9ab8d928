"""Periodic account housekeeping."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task
def flush_expired_tokens() -> None:
    """Delete expired refresh tokens (and their blacklist rows): they can no longer be used anyway."""
    call_command("flushexpiredtokens")
