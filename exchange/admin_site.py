"""The admin site: django-otp's, which lets in only staff whose session passed a second factor.

Staff sign in through the site's own two-step login (password, then code) instead of the admin's
one-page form, which makes them pick their device from a list by hand.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from accounts.services import has_two_factor


class ExchangeAdminSite(OTPAdminSite):  # type: ignore[misc]  # django-otp ships no types
    site_header = "Exchange administration"
    site_title = "Exchange admin"

    def login(self, request: HttpRequest, extra_context: dict[str, object] | None = None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        user = request.user
        if user.is_authenticated and user.is_active:
            if not user.is_staff:
                messages.error(request, "Your account has no access to the administration.")
                return redirect("home")
            if not has_two_factor(user):
                messages.warning(
                    request, "The administration needs two-factor authentication: turn it on here, then open it again."
                )
                return redirect("accounts:security")
            # 2FA is on but this session never passed it: sign in again, with the code this time.
            logout(request)
        return redirect(f"{reverse('accounts:login')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
