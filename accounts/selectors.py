"""Reads for accounts."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User
from exchange.core.errors import AuthenticationRequired


def authenticated_user(request: HttpRequest | Request) -> User:
    """Return the signed-in user of a request whose view already demanded authentication."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationRequired()
    return user
