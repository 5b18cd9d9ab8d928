"""The bootstrap command and password hashing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings

from accounts.models import User
from exchange.settings import base
from kyc.models import SanctionsEntry

pytestmark = pytest.mark.django_db


def test_bootstrap_creates_demo_users_once(settings):
    settings.DEBUG = True
    call_command("bootstrap", stdout=StringIO())
    assert set(User.objects.values_list("username", flat=True)) == {"admin", "compliance", "alice", "bob"}
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.is_staff
    officer = User.objects.get(username="compliance")
    assert officer.is_staff
    assert not officer.is_superuser
    assert officer.has_perm("kyc.review_verification")
    assert not User.objects.get(username="alice").is_staff
    assert SanctionsEntry.objects.filter(source="DEMO").count() == 4
    User.objects.filter(username="alice").update(email="changed@example.com")

    out = StringIO()
    call_command("bootstrap", stdout=out)
    assert User.objects.count() == 4
    assert SanctionsEntry.objects.filter(source="DEMO").count() == 4
    assert User.objects.get(username="alice").email == "changed@example.com"
    assert "exists, left as it is" in out.getvalue()


def test_bootstrap_creates_no_demo_users_in_production(settings):
    settings.DEBUG = False
    call_command("bootstrap", stdout=StringIO())
    assert not User.objects.exists()
    assert not SanctionsEntry.objects.exists()
    assert set(Group.objects.values_list("name", flat=True)) == {"Compliance", "Treasury", "Support"}
    call_command("bootstrap", "--demo", stdout=StringIO())
    assert User.objects.count() == 4


@override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
def test_new_passwords_are_hashed_with_argon2():
    user = User.objects.create_user(username="hashme", email="h@example.com", password="a-strong-passphrase-42")
    assert user.password.startswith("argon2$")


@override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
@pytest.mark.parametrize("hasher", ["bcrypt_sha256", "bcrypt"])
def test_bcrypt_hashes_are_accepted_and_upgraded(hasher):
    user = User.objects.create(
        username="legacy", email="l@example.com", password=make_password("a-strong-passphrase-42", hasher=hasher)
    )
    assert user.password.startswith(hasher + "$")
    assert user.check_password("a-strong-passphrase-42")
    user.refresh_from_db()
    assert user.password.startswith("argon2$")  # rehashed on the successful check
