"""The audit log: `record(action, user=...)` from any service; who, from where and with what browser
comes from the request being served (a middleware keeps it in a context variable), so services need
not carry the request. Sign-ins from an address never seen for the account, and 2FA or password
changes, are also emailed to the user. The address is exchange.core.client_address's, so always a valid one;
failed sign-ins are recorded by accounts.login_guard, after they are counted.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from accounts.models import AuditAction, AuditEvent, User
from exchange.core import client_address
from exchange.core.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

# Actions the user is told about (in the app and by email) besides seeing them under "recent activity";
# a sign-in is told only from an address never seen for the account. The words: accounts.notifications.
TOLD = frozenset(
    {
        AuditAction.TWO_FACTOR_ENABLED,
        AuditAction.TWO_FACTOR_DISABLED,
        AuditAction.PASSWORD_CHANGED,
        AuditAction.LOGIN_FAILURES_ALERT,
    }
)


@dataclass(frozen=True)
class Origin:
    ip: str | None
    user_agent: str


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("audit_origin", default=None)


def origin_of(request: HttpRequest) -> Origin:
    # PostgreSQL text cannot hold NUL: a browser string with one must not make the audit write fail.
    user_agent = str(request.META.get("HTTP_USER_AGENT", "")).replace("\x00", "")[:300]
    return Origin(client_address.of_request(request), user_agent)


class AuditOriginMiddleware:
    """Remember the request's address and browser for the audit records made while serving it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _origin.set(origin_of(request))
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)


def record(action: str, *, user: User | None, actor: User | None = None, **details: Any) -> AuditEvent:
    origin = _origin.get() or Origin(None, "")
    event = AuditEvent.objects.create(
        action=action, user=user, actor=actor, ip=origin.ip, user_agent=origin.user_agent, details=details
    )
    if user is not None and (
        action in TOLD
        or (action == AuditAction.LOGIN_SUCCEEDED and origin.ip and _new_address(user, origin.ip, event.pk))
    ):
        # By Celery after commit, as every notification goes: no mail server on the request's path.
        enqueue_on_commit("accounts.tasks.notify_security_event", event.pk)
    return event


def _new_address(user: User, ip: str, event_id: int) -> bool:
    """Whether the user signed in before, but never from this address."""
    earlier = AuditEvent.objects.filter(user=user, action=AuditAction.LOGIN_SUCCEEDED).exclude(pk=event_id)
    return earlier.exists() and not earlier.filter(ip=ip).exists()


def recent_activity(*, user: User, limit: int = 20) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(user=user).select_related("actor")[:limit])


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    record(AuditAction.LOGIN_SUCCEEDED, user=user, via="page")
