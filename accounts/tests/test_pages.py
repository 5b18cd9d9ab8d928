"""Account pages: register, the two-step login, logout, security settings, and the OTP-guarded admin."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.services import InvalidRefreshToken, refresh_tokens
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import totp_code

pytestmark = pytest.mark.django_db


def test_landing_page_invites_visitors(client: Client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Create an account" in response.content


def test_register_page_creates_the_account_and_signs_in(client: Client):
    response = client.post(
        "/register",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password": "a-strong-passphrase-42",
            "password_confirm": "a-strong-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/security"
    assert User.objects.filter(username="newbie").exists()
    assert client.get("/").context["user"].username == "newbie"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"password": "short", "password_confirm": "short"}, "too short"),
        ({"password_confirm": "something-else-entirely"}, "The two passwords differ."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
    ],
)
def test_register_page_shows_errors_and_creates_nothing(client: Client, data, message):
    form = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": "a-strong-passphrase-42",
        "password_confirm": "a-strong-passphrase-42",
        **data,
    }
    response = client.post("/register", form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_register_page_refuses_a_taken_username(client: Client):
    UserFactory(username="taken")
    response = client.post(
        "/register",
        {
            "username": "TAKEN",
            "email": "x@example.com",
            "password": "a-strong-passphrase-42",
            "password_confirm": "a-strong-passphrase-42",
        },
    )
    assert "This username is taken." in response.content.decode()


def test_login_without_2fa_signs_in_and_honours_next(client: Client, user):
    response = client.post("/login?next=/security", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/security"


def test_login_refuses_an_offsite_next(client: Client, user):
    response = client.post("/login", {"username": user.username, "password": PASSWORD, "next": "https://evil.test/"})
    assert response["Location"] == "/"


def test_login_with_a_wrong_password_shows_an_error(client: Client, user):
    response = client.post("/login", {"username": user.username, "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert "Invalid username or password." in response.content.decode()
    assert "_auth_user_id" not in client.session


class TestTwoStepLogin:
    def test_password_then_code(self, client: Client, two_factor_user):
        response = client.post("/login", {"username": two_factor_user.username, "password": PASSWORD})
        assert response["Location"] == "/login/code"
        # Not signed in after the password alone.
        assert "_auth_user_id" not in client.session
        assert client.get("/security")["Location"].startswith("/login")

        code = totp_code(two_factor_user.totp_device, 1)
        response = client.post("/login/code", {"otp": code})
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(two_factor_user.pk)
        assert client.get("/security").status_code == 200

    def test_a_wrong_code_keeps_the_user_out(self, client: Client, two_factor_user):
        client.post("/login", {"username": two_factor_user.username, "password": PASSWORD})
        response = client.post("/login/code", {"otp": "000000"})
        assert response.status_code == 200
        assert "The code is wrong, expired or already used." in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_the_code_step_needs_the_password_step(self, client: Client, two_factor_user):
        response = client.post("/login/code", {"otp": totp_code(two_factor_user.totp_device, 1)})
        assert response["Location"] == "/login"
        assert "_auth_user_id" not in client.session

    def test_the_code_step_expires(self, client: Client, two_factor_user, settings):
        client.post("/login", {"username": two_factor_user.username, "password": PASSWORD})
        settings.LOGIN_OTP_STEP_SECONDS = -1
        response = client.post("/login/code", {"otp": totp_code(two_factor_user.totp_device, 1)})
        assert response["Location"] == "/login"
        assert "_auth_user_id" not in client.session


def test_logout_needs_post_and_signs_out(client: Client, user):
    client.force_login(user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout")["Location"] == "/"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db(transaction=True)  # autocommit, as served: on-commit work runs at once
def test_a_logout_signs_out_its_streams_only_once_the_session_is_gone(
    client: Client, user, monkeypatch: pytest.MonkeyPatch
):
    # Given a signed-in browser
    client.force_login(user)
    session_key = client.session.session_key
    seen: list[bool] = []
    monkeypatch.setattr(
        "exchange.core.streams.publish_revoked", lambda **_: seen.append(SessionStore().exists(session_key))
    )
    # When it logs out
    client.post("/logout")
    # Then its streams are told after the session is deleted: a page that reloads on being told (the
    # dashboard does) must find itself signed out, not signed in by a session about to be flushed
    assert seen == [False]


class TestSecurityPage:
    def test_needs_login(self, client: Client):
        assert client.get("/security")["Location"] == "/login?next=/security"

    def test_enable_two_factor(self, client: Client, user):
        client.force_login(user)
        client.post("/security", {"action": "2fa-start"})
        page = client.get("/security").content.decode()
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        assert "<svg" in page
        assert "Turn on" in page

        response = client.post("/security", {"action": "2fa-verify", "otp-otp": totp_code(device)})
        assert response.status_code == 200
        assert "Save these backup codes now." in response.content.decode()
        assert len(response.context["backup_codes"]) == 10
        device.refresh_from_db()
        assert device.confirmed
        # The codes are shown once only.
        assert "Save these backup codes now." not in client.get("/security").content.decode()

    def test_enable_with_a_wrong_code_shows_an_error(self, client: Client, user):
        client.force_login(user)
        client.post("/security", {"action": "2fa-start"})
        response = client.post("/security", {"action": "2fa-verify", "otp-otp": "abc"})
        assert "The code is wrong, expired or already used." in response.content.decode()
        assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    def test_disable_two_factor_with_a_backup_code(self, client: Client, two_factor_user):
        client.force_login(two_factor_user)
        response = client.post("/security", {"action": "2fa-disable", "otp-otp": two_factor_user.backup_codes[0]})
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=two_factor_user).exists()

    def test_change_password(self, client: Client, user):
        client.force_login(user)
        refresh = str(RefreshToken.for_user(user))
        response = client.post(
            "/security",
            {
                "action": "password",
                "pw-old_password": PASSWORD,
                "pw-new_password": "brand-new-passphrase-9",
                "pw-new_password_confirm": "brand-new-passphrase-9",
            },
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("brand-new-passphrase-9")
        # This session survives; API refresh tokens do not.
        assert client.get("/security").status_code == 200
        with pytest.raises(InvalidRefreshToken):
            refresh_tokens(refresh=refresh)

    def test_change_password_with_a_wrong_current_password(self, client: Client, user):
        client.force_login(user)
        response = client.post(
            "/security",
            {
                "action": "password",
                "pw-old_password": "not-my-password",
                "pw-new_password": "brand-new-passphrase-9",
                "pw-new_password_confirm": "brand-new-passphrase-9",
            },
        )
        assert "Your current password is wrong." in response.content.decode()
        user.refresh_from_db()
        assert user.check_password(PASSWORD)


class TestAdminNeedsOtp:
    def test_anonymous_visitors_are_sent_to_the_two_step_login(self, client: Client):
        response = client.get("/admin/", follow=True)
        assert response.redirect_chain[-1][0] == "/login?next=%2Fadmin%2F"

    def test_staff_without_2fa_are_sent_to_turn_it_on(self, client: Client):
        staff = UserFactory(is_staff=True, is_superuser=True)
        client.force_login(staff)
        response = client.get("/admin/", follow=True)
        assert response.redirect_chain[-1][0] == "/security"
        assert "The administration needs two-factor authentication" in response.content.decode()

    def test_staff_with_2fa_whose_session_skipped_it_must_sign_in_again(self, client: Client, two_factor_user):
        User.objects.filter(pk=two_factor_user.pk).update(is_staff=True)
        client.force_login(two_factor_user)  # a session that never passed the code
        response = client.get("/admin/", follow=True)
        assert response.redirect_chain[-1][0] == "/login?next=%2Fadmin%2F"
        assert "_auth_user_id" not in client.session

    def test_traders_are_turned_away(self, client: Client, user):
        client.force_login(user)
        response = client.get("/admin/", follow=True)
        assert response.redirect_chain[-1][0] == "/"
        assert "no access to the administration" in response.content.decode()

    def test_staff_sign_in_with_password_and_code_and_reach_the_admin(self, client: Client, two_factor_user):
        User.objects.filter(pk=two_factor_user.pk).update(is_staff=True, is_superuser=True)
        response = client.post("/login?next=/admin/", {"username": two_factor_user.username, "password": PASSWORD})
        assert response["Location"] == "/login/code"
        response = client.post("/login/code", {"otp": totp_code(two_factor_user.totp_device, 1)})
        assert response["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200

    def test_becoming_verified_by_turning_2fa_on_opens_the_admin(self, client: Client):
        staff = UserFactory(is_staff=True, is_superuser=True)
        client.force_login(staff)
        client.post("/security", {"action": "2fa-start"})
        device = TOTPDevice.objects.get(user=staff)
        client.post("/security", {"action": "2fa-verify", "otp-otp": totp_code(device)})
        assert client.get("/admin/").status_code == 200
