"""Account jobs: periodic housekeeping, and telling users of security events. They take ids."""

from __future__ import annotations

from celery import shared_task
from django.core.management import call_command

from accounts import notifications
from accounts.models import AuditEvent
from accounts.services import notify_user


@shared_task
def flush_expired_tokens() -> None:
    """Delete expired refresh tokens (and their blacklist rows): they can no longer be used anyway."""
    call_command("flushexpiredtokens")


@shared_task(ignore_result=True)
def notify_security_event(event_id: int) -> None:
    """Tell the user of a security event (new sign-in address, 2FA or password change), in app and by email."""
    notify_user(notifications.security_event(AuditEvent.objects.get(pk=event_id)))
