from __future__ import annotations

from celery import shared_task

from apikeys import usage


@shared_task(ignore_result=True)
def flush_api_key_usage() -> int:
    """Move API-key usage counts from Redis to the database (beat: every minute)."""
    return usage.flush_usage()
