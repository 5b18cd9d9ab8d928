"""Periodic account housekeeping."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task
def flush_expired_tokens() -> None:
    """Delete expired refresh tokens (and their blacklist rows): they can no longer be used anyway."""
    call_command("flushexpiredtokens")


@shared_task(ignore_result=True)
def notify_security_event(user_id: int, title: str, body: str) -> None:
    """Tell the user of a security event (new sign-in address, 2FA or password change), in app and by email."""
    from accounts.services import notify_user

    notify_user(user_id=user_id, title=title, body=body, link="/security")
