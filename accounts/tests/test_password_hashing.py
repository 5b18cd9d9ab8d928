"""Password hashing: Argon2 for new passwords, bcrypt accepted and upgraded."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.test import override_settings

from accounts.models import User
from exchange.settings import base

pytestmark = pytest.mark.django_db


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
