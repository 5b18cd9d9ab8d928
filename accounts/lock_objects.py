"""Every row lock taken by accounts, in one place (the Saleor way)."""

from __future__ import annotations

from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User


def lock_user(*, user_id: int) -> User:
    """Lock a user row: serializes changes to one user's security settings."""
    user: User = User.objects.select_for_update().get(pk=user_id)
    return user


def lock_outstanding_token(*, jti: str) -> OutstandingToken | None:
    """Lock the record of a refresh token, if one exists, so it can be spent only once."""
    return OutstandingToken.objects.select_for_update().filter(jti=jti).first()
