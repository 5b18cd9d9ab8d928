"""Staff powers need a second factor, whatever the credential (the admin's rule, everywhere).

A request is verified when its session passed a code (django-otp's `is_verified()`: the site's login
calls `django_otp.login` after the code), or when its JWT was issued by a login that passed one: such
a token names, in its `otp_device` claim, the device that took the code, and says `"otp"` in its
`amr` claim (RFC 8176; accounts/token_claims.py). Like django-otp for sessions, a token counts only
while that device is still a confirmed device of the user, so turning 2FA off ends it. An API key is
never verified (and cannot reach staff endpoints at all: apikeys.authentication).

Every staff API view lists `StaffSecondFactor` after its role permission; staff pages and selectors
call `second_factor_verified`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import Token

from accounts.models import User
from accounts.selectors import authenticated_user
from accounts.services import has_two_factor
from accounts.token_claims import token_verified
from exchange.core.errors import DomainError


class StaffTwoFactorRequired(DomainError, PermissionDenied):
    """Also a PermissionDenied, so that a page view raising it answers with the 403 page."""

    code = "staff_2fa_required"
    status_code = 403
    default_message = (
        "Staff actions need two-factor authentication: sign in with your password and a code from your "
        "authenticator app (turn 2FA on under Security first)."
    )


def second_factor_verified(request: HttpRequest | Request) -> bool:
    """Return whether the credential of this request passed a second factor."""
    user = request.user
    if not getattr(user, "is_authenticated", False):
        return False
    auth = getattr(request, "auth", None)  # only DRF requests have one: the JWT, an API key, or None
    if isinstance(auth, Token):
        return token_verified(user, auth)
    if auth is not None:
        return False  # an API key, or any other credential that is not a session
    is_verified = getattr(user, "is_verified", None)  # django-otp's OTPMiddleware installs it
    return bool(callable(is_verified) and is_verified())


def staff_two_factor_required(user: User) -> StaffTwoFactorRequired:
    """Return the refusal for a staff member whose sign-in passed no second factor (saying whether 2FA is on)."""
    return StaffTwoFactorRequired(details={"two_factor_enabled": has_two_factor(user)})


def require_second_factor(request: HttpRequest | Request) -> None:
    """Raise StaffTwoFactorRequired unless the request's credential passed a second factor."""
    if not second_factor_verified(request):
        raise staff_two_factor_required(authenticated_user(request))


class StaffSecondFactor(BasePermission):
    """Refuse, with 403 `staff_2fa_required`, a staff request whose credential passed no second factor.

    List it after the role's permission: whoever lacks the role learns nothing about their factors.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        require_second_factor(request)
        return True
