"""What an API key may do, stated by each API view (`required_scopes`) and checked here.

A key carries scopes; a view says which one a key needs, by HTTP method:

    required_scopes = {"GET": Scope.READ, "DELETE": Scope.TRADE}   # per method; others closed to keys
    required_scopes = Scope.READ                                   # every method needs `read`
    required_scopes = NO_API_KEYS                                  # the user's own session or token only

A view that states nothing is closed to keys too, so a new endpoint is never opened by accident
(exchange/tests/test_scopes.py fails on one that forgets). HEAD needs what GET needs (Django answers it
with GET), and OPTIONS, which only describes the view, needs `read` on a view keys may use at all.

The check runs from apikeys' authentication, for the view being dispatched, the moment it accepts a key,
not from a DRF permission class: DRF does not compose DEFAULT_PERMISSION_CLASSES with a view's own
`permission_classes` (or `get_permissions()`), it replaces them, so a default permission would miss most
views; and running at authentication refuses the request before the view's own permissions (a staff check
would answer with another code) and before the key's use is counted.

The key model (apikeys.models.ApiKey) is an `ApiKeyCredential`, so what sits below that app (the rate
limits, this check) recognises a request signed by a key without importing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from django.db import models
from rest_framework.exceptions import PermissionDenied


class Scope(models.TextChoices):
    READ = "read", "Read"
    TRADE = "trade", "Trade"
    WITHDRAW = "withdraw", "Withdraw"


# The policy of a view closed to keys (account, security, KYC, key management, staff): no method.
NO_API_KEYS: Final[tuple[()]] = ()


class ApiKeyCredential:
    """The base of the API-key model: `request.auth` is one when a signed key authenticated the request."""

    pk: int | None
    scopes: list[str]


def required_scope(view: object, method: str) -> Scope | None:
    """Return the scope a key needs to call `method` on `view`, or None when keys may not call it."""
    policy = getattr(view, "required_scopes", NO_API_KEYS)
    if isinstance(policy, Scope):
        return policy
    if not isinstance(policy, Mapping) or not policy:
        return None
    method = method.upper()
    if method == "HEAD" and method not in policy:
        method = "GET"  # Django answers HEAD with the GET handler
    if method in policy:
        scope = policy[method]
        return scope if isinstance(scope, Scope) else None  # a plain string is not guessed at
    return Scope.READ if method == "OPTIONS" else None


def check_scope(credential: ApiKeyCredential, view: object, method: str) -> None:
    """Raise PermissionDenied (403) unless the view lets keys call `method` and this key has the scope."""
    scope = required_scope(view, method)
    if scope is None:
        raise PermissionDenied("API keys cannot do this: use your account.", code="not_for_api_keys")
    if scope not in credential.scopes:
        raise PermissionDenied(f"This API key lacks the `{scope}` scope.", code="scope_missing")
