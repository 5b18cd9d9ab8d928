"""/api/auth: register, login, refresh, logout, me — and every way they can be misused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "a-strong-passphrase-42"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def login(client, username: str, password: str = PASSWORD, **extra):
    return client.post("/api/auth/login", {"username": username, "password": password, **extra}, format="json")


class TestRegister:
    def test_creates_a_user_and_returns_it(self, api_client):
        response = api_client.post(
            "/api/auth/register", {"username": "satoshi", "email": "S@Example.com", "password": STRONG}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        assert body == {"id": body["id"], "username": "satoshi", "email": "S@example.com"}
        user = User.objects.get(pk=body["id"])
        assert user.check_password(STRONG)
        assert user.password.startswith("md5$") or user.password.startswith("argon2")
        assert not user.is_staff

    @pytest.mark.parametrize("taken", ["trader", "TRADER", "Trader"])
    def test_refuses_a_username_taken_in_any_case(self, api_client, taken):
        UserFactory(username="trader")
        response = api_client.post(
            "/api/auth/register", {"username": taken, "email": "new@example.com", "password": STRONG}, format="json"
        )
        error = assert_error(response, 400, "validation_error")
        assert "username" in error["details"]
        assert User.objects.count() == 1

    def test_refuses_a_taken_email(self, api_client):
        UserFactory(email="owner@example.com")
        response = api_client.post(
            "/api/auth/register", {"username": "other", "email": "OWNER@example.com", "password": STRONG}, format="json"
        )
        error = assert_error(response, 400, "validation_error")
        assert list(error["details"]) == ["email"]

    @pytest.mark.parametrize(
        ("password", "reason"),
        [("short1", "too short"), ("password123", "too common"), ("12345678901234", "entirely numeric")],
    )
    def test_refuses_a_weak_password(self, api_client, password, reason):
        response = api_client.post(
            "/api/auth/register",
            {"username": "weakling", "email": "w@example.com", "password": password},
            format="json",
        )
        error = assert_error(response, 400, "validation_error")
        assert reason in " ".join(error["details"]["password"])
        assert not User.objects.exists()

    def test_refuses_a_password_like_the_username(self, api_client):
        response = api_client.post(
            "/api/auth/register",
            {"username": "marvellous", "email": "m@example.com", "password": "marvellous1"},
            format="json",
        )
        error = assert_error(response, 400, "validation_error")
        assert "too similar" in " ".join(error["details"]["password"])

    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"username": "x"},
            {"username": "bad name!", "email": "a@example.com", "password": STRONG},
            {"username": "fine", "email": "not-an-email", "password": STRONG},
            {"username": "", "email": "a@example.com", "password": STRONG},
        ],
    )
    def test_refuses_malformed_input(self, api_client, payload):
        response = api_client.post("/api/auth/register", payload, format="json")
        assert_error(response, 400, "validation_error")
        assert not User.objects.exists()

    def test_refuses_a_body_that_is_not_json(self, api_client):
        response = api_client.generic("POST", "/api/auth/register", "{not json", content_type="application/json")
        assert_error(response, 400, "parse_error")


class TestLogin:
    def test_returns_an_access_and_refresh_pair(self, api_client, user):
        response = login(api_client, user.username)
        assert response.status_code == 200
        assert set(response.json()) == {"access", "refresh"}
        user.refresh_from_db()
        assert user.last_login is not None

    def test_username_is_case_insensitive(self, api_client):
        UserFactory(username="MixedCase")
        assert login(api_client, "mixedcase").status_code == 200

    @pytest.mark.parametrize(("username", "password"), [("nobody", PASSWORD), (None, "wrong-password")])
    def test_wrong_credentials_get_the_same_401(self, api_client, user, username, password):
        response = login(api_client, username or user.username, password)
        assert_error(response, 401, "invalid_credentials")

    def test_an_inactive_user_cannot_log_in(self, api_client):
        inactive = UserFactory(is_active=False)
        assert_error(login(api_client, inactive.username), 401, "invalid_credentials")

    def test_missing_fields_are_a_validation_error(self, api_client):
        assert_error(api_client.post("/api/auth/login", {"username": "x"}, format="json"), 400, "validation_error")


class TestMe:
    def test_describes_the_user(self, auth_client, user):
        response = auth_client.get("/api/auth/me")
        assert response.status_code == 200
        body = response.json()
        assert {k: body[k] for k in ("id", "username", "email", "kyc_status", "kyc_level")} == {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "kyc_status": "none",
            "kyc_level": 0,
        }
        assert body["two_factor_enabled"] is False
        assert body["is_staff"] is False

    def test_needs_authentication(self, api_client):
        assert_error(api_client.get("/api/auth/me"), 401, "not_authenticated")

    def test_refuses_a_garbage_token(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
        assert_error(api_client.get("/api/auth/me"), 401, "token_not_valid")

    def test_refuses_a_refresh_token_used_as_access(self, api_client, user):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user)}")
        assert_error(api_client.get("/api/auth/me"), 401, "token_not_valid")


class TestRefreshAndLogout:
    def test_refresh_rotates_and_blacklists_the_old_token(self, api_client, user):
        first = login(api_client, user.username).json()
        response = api_client.post("/api/auth/refresh", {"refresh": first["refresh"]}, format="json")
        assert response.status_code == 200
        second = response.json()
        assert second["refresh"] != first["refresh"]
        # The old refresh token is spent: a replay is refused.
        replay = api_client.post("/api/auth/refresh", {"refresh": first["refresh"]}, format="json")
        assert_error(replay, 401, "token_not_valid")
        # The new pair works.
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {second['access']}")
        assert api_client.get("/api/auth/me").status_code == 200

    def test_an_expired_refresh_token_is_refused(self, api_client, user):
        token = RefreshToken.for_user(user)
        token.set_exp(from_time=timezone.now() - timedelta(days=30))
        assert_error(
            api_client.post("/api/auth/refresh", {"refresh": str(token)}, format="json"), 401, "token_not_valid"
        )

    def test_a_tampered_refresh_token_is_refused(self, api_client, user):
        token = str(RefreshToken.for_user(user))
        tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        assert_error(api_client.post("/api/auth/refresh", {"refresh": tampered}, format="json"), 401, "token_not_valid")

    def test_refresh_for_a_deactivated_user_is_refused(self, api_client, user):
        refresh = login(api_client, user.username).json()["refresh"]
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert_error(api_client.post("/api/auth/refresh", {"refresh": refresh}, format="json"), 401, "token_not_valid")

    def test_logout_blacklists_the_refresh_token(self, api_client, user):
        pair = login(api_client, user.username).json()
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        assert api_client.post("/api/auth/logout", {"refresh": pair["refresh"]}, format="json").status_code == 204
        refused = api_client.post("/api/auth/refresh", {"refresh": pair["refresh"]}, format="json")
        assert_error(refused, 401, "token_not_valid")

    def test_logout_refuses_another_users_token(self, api_client, user):
        other = UserFactory()
        mine = login(api_client, user.username).json()
        theirs = str(RefreshToken.for_user(other))
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
        assert_error(api_client.post("/api/auth/logout", {"refresh": theirs}, format="json"), 401, "token_not_valid")
        # Their token still works: nothing was blacklisted.
        api_client.credentials()
        assert api_client.post("/api/auth/refresh", {"refresh": theirs}, format="json").status_code == 200

    def test_logout_needs_authentication(self, api_client, user):
        refresh = str(RefreshToken.for_user(user))
        assert_error(api_client.post("/api/auth/logout", {"refresh": refresh}, format="json"), 401, "not_authenticated")


def test_changing_the_password_revokes_every_refresh_token(api_client, user):
    from accounts import services

    refresh = login(api_client, user.username).json()["refresh"]
    services.change_password(user=user, old_password=PASSWORD, new_password="an-entirely-new-secret")
    assert_error(api_client.post("/api/auth/refresh", {"refresh": refresh}, format="json"), 401, "token_not_valid")
    assert login(api_client, user.username, "an-entirely-new-secret").status_code == 200
    user.refresh_from_db()
    assert user.security_changed_at is not None
