"""'Requires KYC level N' for the API (a DRF permission) and for pages (a decorator)."""

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

from exchange.core.errors import DomainError


class KycRequired(DomainError):
    code = "kyc_required"
    status_code = 403
    default_message = "This needs a verified account."


def _level_of(user: Any) -> int:
    return int(getattr(user, "kyc_level", 0)) if getattr(user, "is_authenticated", False) else -1


def requires_kyc_level(level: int) -> type[BasePermission]:
    """Return a DRF permission class refusing users below `level` with 403 `kyc_required`."""

    class RequiresKycLevel(BasePermission):
        def has_permission(self, request: Request, view: APIView) -> bool:
            current = _level_of(request.user)
            if current < 0:
                return False  # DRF answers 401 for anonymous users
            if current < level:
                raise KycRequired(
                    f"This needs verification level {level}; your account is at level {current}. "
                    "Complete your verification at /kyc.",
                    details={"required_level": level, "kyc_level": current},
                )
            return True

    RequiresKycLevel.__name__ = f"RequiresKycLevel{level}"
    return RequiresKycLevel


def kyc_level_required(level: int) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a page view: users below `level` get a 403 page telling them what to do next."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            current = _level_of(request.user)
            if current < 0:
                return redirect_to_login(request.get_full_path())
            if current < level:
                context = {"required_level": level, "kyc_level": max(current, 0)}
                return render(request, "kyc/required.html", context, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
