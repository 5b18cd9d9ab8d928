"""Races: a refresh token spent twice at once, a TOTP code used twice at once."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.tests.factories import PASSWORD
from conftest import race, totp_code

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refresh_token_rotates_once_under_concurrency(user):
    refresh = str(RefreshToken.for_user(user))
    results = race(lambda: services.refresh_tokens(refresh=refresh))
    pairs = [r for r in results if isinstance(r, services.TokenPair)]
    refused = [r for r in results if isinstance(r, services.InvalidRefreshToken)]
    assert len(pairs) == 1, results
    assert len(refused) == len(results) - 1


def test_a_refresh_token_never_recorded_before_still_rotates_once(user):
    token = RefreshToken.for_user(user)
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    OutstandingToken.objects.filter(jti=token["jti"]).delete()
    results = race(lambda: services.refresh_tokens(refresh=str(token)))
    assert sum(isinstance(r, services.TokenPair) for r in results) == 1, results


def test_a_totp_code_logs_in_once_under_concurrency(two_factor_user):
    device = TOTPDevice.objects.get(user=two_factor_user)
    code = totp_code(device, 1)
    results = race(
        lambda: services.login_api(request=None, username=two_factor_user.username, password=PASSWORD, otp=code)
    )
    assert sum(isinstance(r, services.TokenPair) for r in results) == 1, results
