"""The API keys page: create (the secret once), revoke; 2FA asked when it is on."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apikeys.models import ApiKey
from conftest import totp_code

pytestmark = pytest.mark.django_db


def test_create_list_and_revoke_keys(user: Any) -> None:
    client = Client()
    client.force_login(user)
    assert "No keys yet" in client.get("/api-keys").content.decode()
    page = client.post(
        "/api-keys", {"label": "my bot", "scopes": ["read", "trade"], "ip_whitelist": "192.0.2.1, 10.0.0.0/8"}
    )
    html = page.content.decode()
    key = ApiKey.objects.get()
    assert "shown this once" in html
    assert key.prefix in html
    assert (key.scopes, key.ip_whitelist) == (["read", "trade"], ["10.0.0.0/8", "192.0.2.1/32"])
    again = client.get("/api-keys").content.decode()
    assert "shown this once" not in again
    assert "my bot" in again
    client.post(f"/api-keys/{key.pk}/revoke")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "revoked" in client.get("/api-keys").content.decode()


def test_bad_input_and_2fa_show_form_errors(two_factor_user: Any) -> None:
    client = Client()
    client.force_login(two_factor_user)
    bad = client.post("/api-keys", {"label": "bot", "scopes": ["read"], "ip_whitelist": "not-an-ip"}).content.decode()
    assert "is not an IP address or CIDR range" in bad
    no_code = client.post("/api-keys", {"label": "bot", "scopes": ["read"]}).content.decode()
    assert "needs a code from your authenticator app" in no_code
    assert not ApiKey.objects.exists()
    device = two_factor_user.totpdevice_set.get()
    client.post("/api-keys", {"label": "bot", "scopes": ["read"], "otp": totp_code(device)})
    assert ApiKey.objects.count() == 1


def test_someone_elses_key_cannot_be_revoked(user: Any) -> None:
    from accounts.tests.factories import UserFactory
    from apikeys.services import create_key

    theirs = create_key(user=UserFactory(), label="theirs", scopes=["read"]).api_key
    client = Client()
    client.force_login(user)
    assert client.post(f"/api-keys/{theirs.pk}/revoke").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
