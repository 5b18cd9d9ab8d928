"""Fixtures shared by every app's tests: API clients, users, TOTP codes, a clean Redis."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """Start each test with an empty Redis database (the test settings give tests their own)."""
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def auth_client(user: Any) -> APIClient:
    """An API client carrying a JWT access token of `user`."""
    from accounts.services import issue_tokens

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user).access}")
    return client


def totp_code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """Return the code an authenticator app shows for this device now (or some 30 s steps later).

    django-otp accepts one step of drift either way and each step only once, so a test that needs
    two codes in a row takes the current one, then the next.
    """
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def two_factor_user(user: Any) -> Any:
    """A user with 2FA on: a confirmed authenticator device and backup codes (on `user.backup_codes`)."""
    from accounts import services

    services.start_two_factor_setup(user=user)
    device = TOTPDevice.objects.get(user=user)
    user.backup_codes = services.confirm_two_factor(user=user, code=totp_code(device))
    user.totp_device = device
    return user
