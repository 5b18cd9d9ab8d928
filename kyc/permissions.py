"""'The compliance policy allows this' for the API (a DRF permission) and for pages (a decorator).

Both ask `kyc.policy`, so a view states what it does (`Activity.TRADE`), never which level does it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from kyc import policy


def policy_permission(activity: policy.Activity) -> type[BasePermission]:
    """Return a DRF permission class refusing users whose level may not do `activity` with 403 `kyc_required`."""

    class PolicyAllows(BasePermission):
        def has_permission(self, request: Request, view: APIView) -> bool:
            if not request.user.is_authenticated:
                return False  # DRF answers 401 for anonymous users
            policy.require(authenticated_user(request), activity)
            return True

    PolicyAllows.__name__ = f"PolicyAllows{activity.name.title()}"
    return PolicyAllows


def policy_required(activity: policy.Activity) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a page view: users whose level may not do `activity` get a 403 page telling them what next."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            refusal = policy.refusal(authenticated_user(request), activity)
            if refusal is not None:
                return render(request, "kyc/required.html", refusal.details, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
