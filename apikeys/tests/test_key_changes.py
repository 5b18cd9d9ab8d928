"""Changing an API key (PATCH): what widens it takes a code, as creating one does (issue 13, point 5).

Widening is anything that lets the key do more: a scope it lacked, a whitelist removed or covering
addresses it did not, an expiry later (or none). Renaming and narrowing need no code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import AuditAction, AuditEvent
from accounts.tests.test_api_auth import assert_error
from apikeys.models import ApiKey
from trading.tests.factories import client_for

pytestmark = pytest.mark.django_db

IN_A_WEEK = timezone.now() + timedelta(days=7)


def backup_code(user: Any) -> str:
    code = StaticToken.random_token()
    StaticToken.objects.create(device=StaticDevice.objects.get(user=user), token=code)
    return code


@pytest.fixture
def key(two_factor_user: Any) -> ApiKey:
    """A read-only key of a user with 2FA on, usable from one network, for a week."""
    response = client_for(two_factor_user).post(
        "/api/api-keys",
        {"label": "bot", "scopes": ["read"], "ip_whitelist": ["192.0.2.0/24"], "expires_at": IN_A_WEEK.isoformat(),
         "otp": backup_code(two_factor_user)},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return ApiKey.objects.get(pk=response.json()["id"])


def patch(user: Any, key: ApiKey, **changes: Any) -> Any:
    return client_for(user).patch(f"/api/api-keys/{key.pk}", changes, format="json")


def as_stored(key: ApiKey) -> tuple[Any, ...]:
    key.refresh_from_db()
    return key.label, key.scopes, key.ip_whitelist, key.expires_at


WIDENING = [
    pytest.param({"scopes": ["read", "trade"]}, id="adds trade"),
    pytest.param({"scopes": ["read", "withdraw"]}, id="adds withdraw"),
    pytest.param({"scopes": ["trade"]}, id="swaps read for trade"),
    pytest.param({"ip_whitelist": []}, id="clears the whitelist"),
    pytest.param({"ip_whitelist": ["192.0.2.0/23"]}, id="a wider range"),
    pytest.param({"ip_whitelist": ["192.0.2.0/24", "198.51.100.7"]}, id="another address"),
    pytest.param({"ip_whitelist": ["0.0.0.0/0"]}, id="every address"),
    pytest.param({"expires_at": (IN_A_WEEK + timedelta(days=30)).isoformat()}, id="a later expiry"),
    pytest.param({"expires_at": None}, id="no expiry"),
    pytest.param({"label": "renamed", "scopes": ["read", "trade"]}, id="a rename beside a new scope"),
]


@pytest.mark.parametrize("changes", WIDENING)
def test_a_change_that_widens_the_key_needs_a_code(two_factor_user: Any, key: ApiKey, changes: dict[str, Any]) -> None:
    # Given a user with 2FA on and a narrow key; when they widen it without a code, then nothing changes
    before = as_stored(key)
    assert_error(patch(two_factor_user, key, **changes), 401, "otp_required")
    assert_error(patch(two_factor_user, key, **changes, otp="000000"), 401, "otp_invalid")
    assert as_stored(key) == before
    assert not AuditEvent.objects.filter(action=AuditAction.API_KEY_CHANGED).exists()
    for device in devices_for_user(two_factor_user):
        device.throttle_reset()  # the wrong code's wait is over
    # With a code, it is done and recorded
    response = patch(two_factor_user, key, **changes, otp=backup_code(two_factor_user))
    assert response.status_code == 200, response.content
    assert as_stored(key) != before
    assert AuditEvent.objects.filter(action=AuditAction.API_KEY_CHANGED, user=two_factor_user).count() == 1


NARROWING = [
    pytest.param({"label": "renamed"}, id="a rename"),
    pytest.param({"scopes": ["read"]}, id="the same scopes"),
    pytest.param({"ip_whitelist": ["192.0.2.0/25"]}, id="a narrower range"),
    pytest.param({"ip_whitelist": ["192.0.2.7", "192.0.2.8/30"]}, id="addresses inside the range"),
    pytest.param({"expires_at": (IN_A_WEEK - timedelta(days=1)).isoformat()}, id="an earlier expiry"),
]


@pytest.mark.parametrize("changes", NARROWING)
def test_a_change_that_does_not_widen_it_needs_no_code(
    two_factor_user: Any, key: ApiKey, changes: dict[str, Any]
) -> None:
    response = patch(two_factor_user, key, **changes)
    assert response.status_code == 200, response.content


def test_narrowing_the_scopes_of_a_wide_key_needs_no_code(two_factor_user: Any, key: ApiKey) -> None:
    assert patch(two_factor_user, key, scopes=["read", "trade"], otp=backup_code(two_factor_user)).status_code == 200
    assert patch(two_factor_user, key, scopes=["trade"]).json()["scopes"] == ["trade"]


def test_a_key_without_whitelist_or_expiry_takes_either_without_a_code(two_factor_user: Any) -> None:
    body = {"label": "open", "scopes": ["read"], "otp": backup_code(two_factor_user)}
    created = client_for(two_factor_user).post("/api/api-keys", body, format="json").json()
    key = ApiKey.objects.get(pk=created["id"])
    assert patch(two_factor_user, key, ip_whitelist=["203.0.113.0/24"]).status_code == 200
    assert patch(two_factor_user, key, expires_at=IN_A_WEEK.isoformat()).status_code == 200


def test_an_expiry_in_the_past_is_refused(two_factor_user: Any, key: ApiKey) -> None:
    error = assert_error(patch(two_factor_user, key, expires_at="2001-01-01T00:00:00Z"), 400, "validation_error")
    assert "expires_at" in error["details"]


def test_without_2fa_no_code_is_asked_for_as_at_creation(user: Any) -> None:
    created = client_for(user).post("/api/api-keys", {"label": "bot", "scopes": ["read"]}, format="json").json()
    key = ApiKey.objects.get(pk=created["id"])
    assert patch(user, key, scopes=["read", "withdraw"]).json()["scopes"] == ["read", "withdraw"]
