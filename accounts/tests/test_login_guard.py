"""Failed logins: counted on every path (an exception included), per (account, address) and per
address; many failures for one account slow it down and alert its owner, but never lock its owner
out: the right password with a valid second factor always signs in, and no answer tells a guessed
password from a wrong one while the account is under attack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core import mail
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import totp_code

pytestmark = pytest.mark.django_db

# Small limits: 3 failures per (account, address), 5 per account before it counts as under attack.
GUARD = override_settings(
    LOGIN_FAILURES_PER_ACCOUNT_IP=3, LOGIN_FAILURES_PER_IP=1000, LOGIN_FAILURES_PER_ACCOUNT=5, LOGIN_SLOW_SECONDS=30
)


def login(ip: str, username: str, password: str, otp: str | None = None, **headers: Any) -> Any:
    body = {"username": username, "password": password} | ({"otp": otp} if otp else {})
    client = APIClient(REMOTE_ADDR=ip, raise_request_exception=False)
    return client.post("/api/auth/login", body, format="json", **headers)


def answer(response: Any) -> tuple[int, str]:
    body = response.json()
    return response.status_code, body["error"]["code"] if "error" in body else "ok"


def attack(username: str, addresses: int = 5) -> None:
    """A third party: one wrong password from each of many addresses, as a botnet would."""
    for n in range(addresses):
        assert answer(login(f"203.0.113.{n + 1}", username, "guess")) == (401, "invalid_credentials")


@GUARD
def test_a_junk_forwarded_for_changes_nothing_and_every_failure_is_counted() -> None:
    UserFactory(username="carol")
    junk = {"HTTP_X_FORWARDED_FOR": "junk, <script>"}
    codes = [answer(login("198.51.100.50", "carol", "wrong", **junk)) for _ in range(4)]
    assert codes == [(401, "invalid_credentials")] * 3 + [(429, "login_throttled")]
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, ip="198.51.100.50").count() == 3
    # The right password from that address waits too; from anywhere else it works.
    assert answer(login("198.51.100.50", "carol", PASSWORD, **junk)) == (429, "login_throttled")
    assert answer(login("198.51.100.51", "carol", PASSWORD, **junk)) == (200, "ok")


@pytest.fixture
def failing_receiver() -> Iterator[None]:
    """Something on the failed-login signal raises (a broken receiver, a database hiccup)."""

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("receiver broke")

    user_login_failed.connect(broken, dispatch_uid="test-broken")
    try:
        yield
    finally:
        user_login_failed.disconnect(dispatch_uid="test-broken")


@GUARD
def test_a_failure_that_raises_is_counted_all_the_same(failing_receiver: None) -> None:
    UserFactory(username="carol")
    assert [login("198.51.100.52", "carol", "wrong").status_code for _ in range(3)] == [500] * 3
    assert answer(login("198.51.100.52", "carol", "wrong")) == (429, "login_throttled")


@GUARD
def test_the_limit_per_address_and_account_spares_the_owner_and_other_accounts() -> None:
    UserFactory(username="victim")
    UserFactory(username="other")
    for _ in range(3):
        login("203.0.113.9", "victim", "guess")
    assert answer(login("203.0.113.9", "victim", PASSWORD)) == (429, "login_throttled")
    assert int(login("203.0.113.9", "victim", PASSWORD)["Retry-After"]) > 3000
    assert answer(login("203.0.113.9", "other", PASSWORD)) == (200, "ok")  # the address may use other accounts
    assert answer(login("198.51.100.53", "victim", PASSWORD)) == (200, "ok")  # the owner, elsewhere


@GUARD
def test_an_attack_on_a_2fa_account_never_locks_its_owner_out(
    two_factor_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    victim = two_factor_user
    victim.is_staff = True  # the admin too
    victim.save(update_fields=["is_staff"])
    with django_capture_on_commit_callbacks(execute=True):
        attack(victim.username, addresses=7)
    # The owner is told once, by email and in the audit log.
    alerts = AuditEvent.objects.filter(user=victim, action=AuditAction.LOGIN_FAILURES_ALERT)
    assert alerts.count() == 1
    assert [m.to for m in mail.outbox if "failed sign-ins" in m.subject] == [[victim.email]]
    # While it lasts, a guessed password answers as a wrong one: no oracle.
    device = victim.totp_device
    good = totp_code(device, 1)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    assert answer(login("203.0.113.50", victim.username, PASSWORD)) == (401, "invalid_credentials")
    assert answer(login("203.0.113.51", victim.username, "guess", otp=good)) == (401, "invalid_credentials")
    # The right password with a valid code signs in, from a new address, at once.
    assert answer(login("198.51.100.54", victim.username, PASSWORD, otp=good)) == (200, "ok")
    assert answer(login("203.0.113.52", victim.username, PASSWORD, otp=wrong)) == (401, "invalid_credentials")


@GUARD
def test_an_attack_on_an_account_without_2fa_slows_new_addresses_but_not_known_ones() -> None:
    victim = UserFactory(username="victim")
    assert answer(login("198.51.100.55", "victim", PASSWORD)) == (200, "ok")  # the owner's usual address
    attack("victim")
    # From an address that never signed in: one password check per LOGIN_SLOW_SECONDS for the account.
    assert answer(login("203.0.113.60", "victim", "guess")) == (401, "invalid_credentials")
    slowed = login("203.0.113.61", "victim", PASSWORD)
    assert answer(slowed) == (429, "login_throttled")
    assert 1 <= int(slowed["Retry-After"]) <= 30
    # The owner's known address is not slowed.
    assert answer(login("198.51.100.55", "victim", PASSWORD)) == (200, "ok")
    assert AuditEvent.objects.filter(user=victim, action=AuditAction.LOGIN_FAILURES_ALERT).count() == 1


@GUARD
def test_the_page_login_under_attack_asks_for_the_code_whatever_the_password(two_factor_user: Any) -> None:
    victim = two_factor_user
    attack(victim.username)
    page = Client(REMOTE_ADDR="203.0.113.70")
    assert page.post("/login", {"username": victim.username, "password": "guess"})["Location"] == "/login/code"
    response = page.post("/login/code", {"otp": totp_code(victim.totp_device, 1)}, follow=True)
    assert "The password or the code is wrong" in response.content.decode()
    assert "_auth_user_id" not in page.session
    owner = Client(REMOTE_ADDR="198.51.100.56")
    assert owner.post("/login", {"username": victim.username, "password": PASSWORD})["Location"] == "/login/code"
    assert owner.post("/login/code", {"otp": totp_code(victim.totp_device, 1)}).status_code == 302
    assert owner.session["_auth_user_id"] == str(victim.pk)


@GUARD
def test_without_an_attack_the_two_step_login_is_unchanged(two_factor_user: Any) -> None:
    assert answer(login("198.51.100.57", two_factor_user.username, PASSWORD)) == (401, "otp_required")
    assert answer(login("198.51.100.57", two_factor_user.username, "wrong")) == (401, "invalid_credentials")
