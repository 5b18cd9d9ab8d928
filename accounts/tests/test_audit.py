"""The audit log: security actions recorded with address and browser, append-only, shown to the user
as recent activity, with an email for a sign-in from a new address and for 2FA and password changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import DatabaseError, transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import totp_code

pytestmark = pytest.mark.django_db


def actions(user: Any) -> list[str]:
    return list(AuditEvent.objects.filter(user=user).order_by("pk").values_list("action", flat=True))


def test_sign_ins_are_recorded_with_address_and_browser(django_capture_on_commit_callbacks: Any) -> None:
    user = UserFactory(username="erin")
    api = APIClient(REMOTE_ADDR="198.51.100.20", HTTP_USER_AGENT="bot/1.0")
    assert api.post("/api/auth/login", {"username": "erin", "password": "nope"}, format="json").status_code == 401
    assert api.post("/api/auth/login", {"username": "erin", "password": PASSWORD}, format="json").status_code == 200
    page = Client(REMOTE_ADDR="198.51.100.21", HTTP_USER_AGENT="Firefox")
    with django_capture_on_commit_callbacks(execute=True):
        page.post("/login", {"username": "erin", "password": PASSWORD})
    assert actions(user) == [AuditAction.LOGIN_FAILED, AuditAction.LOGIN_SUCCEEDED, AuditAction.LOGIN_SUCCEEDED]
    events = list(AuditEvent.objects.filter(user=user).order_by("pk"))
    first, last = events[0], events[-1]
    assert (first.ip, first.user_agent, first.details["username"]) == ("198.51.100.20", "bot/1.0", "erin")
    assert (last.ip, last.details["via"]) == ("198.51.100.21", "page")
    # The second address is new for the account: the user is told.
    assert [m.subject for m in mail.outbox if "new address" in m.subject]


def test_the_log_is_append_only() -> None:
    event = AuditEvent.objects.create(action=AuditAction.LOGIN_FAILED, user=None)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditAction.LOGIN_SUCCEEDED)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_security_changes_api_keys_and_the_security_page(
    two_factor_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from accounts.services import issue_tokens

    user = two_factor_user
    client = APIClient(REMOTE_ADDR="198.51.100.30")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user).access}")
    device = user.totpdevice_set.get()
    created = client.post(
        "/api/api-keys", {"label": "bot", "scopes": ["read"], "otp": totp_code(device)}, format="json"
    )
    key_id = created.json()["id"]
    client.patch(f"/api/api-keys/{key_id}", {"label": "bot 2"}, format="json")
    client.delete(f"/api/api-keys/{key_id}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/security/2fa/disable", {"otp": totp_code(device, steps_ahead=1)}, format="json")
    assert response.status_code == 200, response.json()
    assert actions(user)[-4:] == [
        AuditAction.API_KEY_CREATED,
        AuditAction.API_KEY_CHANGED,
        AuditAction.API_KEY_REVOKED,
        AuditAction.TWO_FACTOR_DISABLED,
    ]
    assert any("Security change" in m.subject for m in mail.outbox)
    page = Client()
    page.force_login(user)
    html = page.get("/security").content.decode()
    assert "Recent activity" in html
    assert "Two-factor authentication turned off" in html
    assert "API key created" in html
    assert "198.51.100.30" in html
