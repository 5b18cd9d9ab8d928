"""/api/security/2fa and the login that 2FA guards."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.tests.factories import PASSWORD
from accounts.tests.test_api_auth import assert_error, login
from conftest import totp_code

pytestmark = pytest.mark.django_db


def test_setup_returns_secret_uri_and_qr(auth_client, user):
    response = auth_client.post("/api/security/2fa/setup")
    assert response.status_code == 200
    body = response.json()
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    padded = body["secret"] + "=" * (-len(body["secret"]) % 8)
    assert base64.b32decode(padded) == device.bin_key
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].lstrip().startswith("<svg")
    # Not on until verified.
    assert auth_client.get("/api/security/2fa/status").json() == {
        "enabled": False,
        "pending_setup": True,
        "backup_codes_remaining": 0,
    }


def test_setup_again_replaces_an_unconfirmed_secret(auth_client, user):
    first = auth_client.post("/api/security/2fa/setup").json()["secret"]
    second = auth_client.post("/api/security/2fa/setup").json()["secret"]
    assert first != second
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_verify_turns_2fa_on_and_returns_backup_codes(auth_client, user):
    auth_client.post("/api/security/2fa/setup")
    device = TOTPDevice.objects.get(user=user)
    response = auth_client.post("/api/security/2fa/verify", {"otp": totp_code(device)}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["enabled"] is True
    assert len(body["backup_codes"]) == 10
    assert len(set(body["backup_codes"])) == 10
    assert auth_client.get("/api/security/2fa/status").json() == {
        "enabled": True,
        "pending_setup": False,
        "backup_codes_remaining": 10,
    }
    assert auth_client.get("/api/auth/me").json()["two_factor_enabled"] is True


def test_verify_with_a_wrong_code_changes_nothing(auth_client, user):
    auth_client.post("/api/security/2fa/setup")
    device = TOTPDevice.objects.get(user=user)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    assert_error(auth_client.post("/api/security/2fa/verify", {"otp": wrong}, format="json"), 401, "otp_invalid")
    assert_error(auth_client.post("/api/security/2fa/verify", {"otp": ""}, format="json"), 400, "validation_error")
    device.refresh_from_db()
    assert device.confirmed is False
    assert not StaticToken.objects.exists()


def test_verify_without_setup_is_a_conflict(auth_client):
    assert_error(auth_client.post("/api/security/2fa/verify", {"otp": "123456"}, format="json"), 409, "conflict")


def test_setup_when_already_on_is_a_conflict(api_client, two_factor_user):
    from accounts.services import issue_tokens

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=two_factor_user).access}")
    assert_error(api_client.post("/api/security/2fa/setup"), 409, "conflict")
    assert TOTPDevice.objects.get(user=two_factor_user).confirmed is True


class TestLoginWithTwoFactor:
    def test_without_a_code_asks_for_one(self, api_client, two_factor_user):
        assert_error(login(api_client, two_factor_user.username), 401, "otp_required")

    def test_a_wrong_password_still_says_invalid_credentials(self, api_client, two_factor_user):
        response = login(api_client, two_factor_user.username, "wrong-password", otp="123456")
        assert_error(response, 401, "invalid_credentials")

    def test_a_wrong_code_is_refused(self, api_client, two_factor_user):
        code = totp_code(two_factor_user.totp_device, 1)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        assert_error(login(api_client, two_factor_user.username, otp=wrong), 401, "otp_invalid")

    def test_a_current_code_works_once(self, api_client, two_factor_user):
        code = totp_code(two_factor_user.totp_device, 1)
        response = login(api_client, two_factor_user.username, otp=code)
        assert response.status_code == 200
        assert set(response.json()) == {"access", "refresh"}
        # The same code again is a replay.
        assert_error(login(api_client, two_factor_user.username, otp=code), 401, "otp_invalid")

    def test_the_code_used_to_turn_2fa_on_cannot_log_in(self, api_client, two_factor_user):
        device = two_factor_user.totp_device
        device.refresh_from_db()
        used = TOTP(device.bin_key, device.step, device.t0, device.digits, 0)
        used.time = device.t0 + device.last_t * device.step  # the step the setup code was accepted for
        assert_error(login(api_client, two_factor_user.username, otp=f"{used.token():06d}"), 401, "otp_invalid")

    def test_a_backup_code_works_once(self, api_client, two_factor_user):
        backup = two_factor_user.backup_codes[0]
        assert login(api_client, two_factor_user.username, otp=backup).status_code == 200
        assert_error(login(api_client, two_factor_user.username, otp=backup), 401, "otp_invalid")
        assert StaticToken.objects.filter(device__user=two_factor_user).count() == 9

    def test_repeated_failures_are_throttled(self, api_client, two_factor_user):
        device = two_factor_user.totp_device
        good = totp_code(device, 1)
        wrong = f"{(int(good) + 1) % 1_000_000:06d}"
        assert_error(login(api_client, two_factor_user.username, otp=wrong), 401, "otp_invalid")
        # Within the back-off that follows a failure, even the right code is not checked.
        response = login(api_client, two_factor_user.username, otp=good)
        error = assert_error(response, 429, "otp_throttled")
        assert response["Retry-After"] == "1"
        assert error["details"] == {"retry_after": 1}
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_timestamp=timezone.now() - timedelta(seconds=2)
        )
        StaticDevice.objects.filter(user=two_factor_user).update(
            throttling_failure_timestamp=timezone.now() - timedelta(seconds=2)
        )
        # Once the wait is over, the right code works.
        assert login(api_client, two_factor_user.username, otp=good).status_code == 200


class TestDisable:
    def _client(self, api_client, user):
        from accounts.services import issue_tokens

        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user).access}")
        return api_client

    def test_needs_a_current_code(self, api_client, two_factor_user):
        client = self._client(api_client, two_factor_user)
        assert_error(client.post("/api/security/2fa/disable", {"otp": "000000"}, format="json"), 401, "otp_invalid")
        assert_error(client.post("/api/security/2fa/disable", {}, format="json"), 400, "validation_error")
        assert TOTPDevice.objects.filter(user=two_factor_user, confirmed=True).exists()

    def test_with_a_code_turns_2fa_off(self, api_client, two_factor_user):
        client = self._client(api_client, two_factor_user)
        code = totp_code(two_factor_user.totp_device, 1)
        response = client.post("/api/security/2fa/disable", {"otp": code}, format="json")
        assert response.status_code == 200
        assert response.json() == {"enabled": False}
        assert not TOTPDevice.objects.filter(user=two_factor_user).exists()
        assert not StaticToken.objects.filter(device__user=two_factor_user).exists()
        two_factor_user.refresh_from_db()
        assert two_factor_user.security_changed_at is not None
        # Login no longer asks for a code.
        api_client.credentials()
        assert login(api_client, two_factor_user.username, PASSWORD).status_code == 200

    def test_turning_it_off_revokes_every_refresh_token(self, api_client, two_factor_user):
        # Given a session elsewhere (a refresh token an intruder may hold)
        from accounts.services import issue_tokens

        elsewhere = issue_tokens(user=two_factor_user).refresh
        client = self._client(api_client, two_factor_user)
        # When 2FA is turned off
        code = totp_code(two_factor_user.totp_device, 1)
        assert client.post("/api/security/2fa/disable", {"otp": code}, format="json").status_code == 200
        # Then that refresh token no longer refreshes, as the README promises
        api_client.credentials()
        response = api_client.post("/api/auth/refresh", {"refresh": str(elsewhere)}, format="json")
        assert response.status_code == 401

    def test_when_off_is_a_conflict(self, auth_client):
        assert_error(auth_client.post("/api/security/2fa/disable", {"otp": "123456"}, format="json"), 409, "conflict")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/security/2fa/setup"),
        ("post", "/api/security/2fa/verify"),
        ("post", "/api/security/2fa/disable"),
        ("get", "/api/security/2fa/status"),
    ],
)
def test_every_2fa_endpoint_needs_authentication(api_client, method, path):
    assert_error(getattr(api_client, method)(path), 401, "not_authenticated")
