"""API-key scopes are stated by each API view (`required_scopes`, exchange.core.scopes): every view of the
URL tree states one, each endpoint keeps the policy the old prefix table gave it, and a signed request is
checked whatever the view's own permission classes, while session and token requests are not touched."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.services import create_key
from apikeys.tests.test_api_keys import Signed, create
from exchange.core.scopes import NO_API_KEYS, Scope, required_scope
from trading.tests.factories import client_for, markets, trader

R, T, W = Scope.READ, Scope.TRADE, Scope.WITHDRAW


def api_views(resolver: URLResolver | None = None, prefix: str = "/") -> Iterator[tuple[str, type[APIView]]]:
    """Yield (route, view class) of every DRF view in the URL tree, through every include."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from api_views(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None)  # DRF's as_view() keeps the class there
            if isinstance(view, type) and issubclass(view, APIView):
                yield prefix + str(pattern.pattern), view


def policy_problems(view: type[APIView]) -> list[str]:
    """What is wrong with a view's scope policy: missing, not a Scope, or naming a method it lacks."""
    if not hasattr(view, "required_scopes"):
        return ["states no `required_scopes`"]
    policy = view.required_scopes
    if isinstance(policy, Scope) or policy == NO_API_KEYS:
        return []
    if not isinstance(policy, Mapping) or not policy:
        return [f"`required_scopes` is {policy!r}: a {{method: Scope}} mapping, a Scope or NO_API_KEYS"]
    problems = [
        f"{method!r} needs {scope!r}, not a Scope" for method, scope in policy.items() if not isinstance(scope, Scope)
    ]
    return problems + [
        f"{method!r} is not a method the view answers"
        for method in policy
        if method.lower() not in view.http_method_names or not hasattr(view, method.lower())
    ]


def test_every_api_view_states_a_scope_policy_made_of_scopes() -> None:
    # Given the whole URL tree
    views = list(api_views())

    # When each API view's policy is examined
    problems = {f"{route} ({view.__qualname__})": found for route, view in views if (found := policy_problems(view))}

    # Then none is missing or malformed, and the walk did reach into the includes of every app
    assert problems == {}
    reached = {view.__module__.split(".")[0] for _, view in views}
    assert {"accounts", "apikeys", "exchange", "kyc", "trading", "wallets"} <= reached


class NoPolicyApi(APIView):
    def get(self, request: Request) -> Response:
        return Response({})


class TypoApi(APIView):
    required_scopes = {"GET": "read", "DELET": Scope.TRADE}

    def get(self, request: Request) -> Response:
        return Response({})

    def delete(self, request: Request) -> Response:
        return Response({})


def test_the_walk_reports_a_view_without_a_policy_and_a_malformed_one() -> None:
    # Given a view that forgot its policy, one with a plain string and a misspelt method, and sound ones
    # When they are examined
    # Then the first two are reported, and the sound ones are not
    assert policy_problems(NoPolicyApi) == ["states no `required_scopes`"]
    assert policy_problems(TypoApi) == [
        "'GET' needs 'read', not a Scope",
        "'DELET' is not a method the view answers",
    ]
    assert policy_problems(type("Closed", (NoPolicyApi,), {"required_scopes": NO_API_KEYS})) == []
    assert policy_problems(type("AllRead", (NoPolicyApi,), {"required_scopes": Scope.READ})) == []


# Each endpoint and method, and the scope a key needed under the prefix table these policies replace
# (None: closed to keys). HEAD goes with GET; OPTIONS needs `read` where keys may use the view at all.
BEFORE = [
    ("/api/auth/register", "POST", None),
    ("/api/auth/login", "POST", None),
    ("/api/auth/refresh", "POST", None),
    ("/api/auth/logout", "POST", None),
    ("/api/auth/me", "GET", R),
    ("/api/auth/me", "HEAD", R),
    ("/api/auth/kyc", "POST", None),
    ("/api/security/2fa/setup", "POST", None),
    ("/api/security/2fa/verify", "POST", None),
    ("/api/security/2fa/disable", "POST", None),
    ("/api/security/2fa/status", "GET", None),
    ("/api/kyc/verification", "GET", None),
    ("/api/kyc/submit", "POST", None),
    ("/api/kyc/documents", "GET", None),
    ("/api/kyc/documents", "POST", None),
    ("/api/kyc/documents/1/file", "GET", None),
    ("/api/kyc/admin/pending", "GET", None),
    ("/api/kyc/admin/1/approve", "POST", None),
    ("/api/kyc/admin/1/reject", "POST", None),
    ("/api/wallet/balances", "GET", R),
    ("/api/wallet/deposit", "POST", None),
    ("/api/wallet/withdraw", "POST", W),
    ("/api/wallet/withdraw", "OPTIONS", R),
    ("/api/wallet/withdrawals/1", "GET", R),
    ("/api/wallet/withdrawals/1/confirm", "POST", W),
    ("/api/wallet/withdrawals/1/resend-confirmation", "POST", W),
    ("/api/wallet/withdrawals/1/cancel", "POST", W),
    ("/api/wallet/transactions", "GET", R),
    ("/api/wallet/deposit-addresses", "GET", R),
    ("/api/wallet/deposit-addresses", "POST", None),
    ("/api/wallet/address-book", "GET", R),
    ("/api/wallet/address-book", "POST", None),
    ("/api/wallet/address-book/1", "DELETE", None),
    ("/api/wallet/settings", "PATCH", None),
    ("/api/trading/orders", "GET", R),
    ("/api/trading/orders", "POST", T),
    ("/api/trading/orders", "DELETE", T),
    ("/api/trading/orders", "OPTIONS", R),
    ("/api/trading/orders/1", "GET", R),
    ("/api/trading/orders/1", "DELETE", T),
    ("/api/trading/fills", "GET", R),
    ("/api/trading/orderbook/BTC-USDT", "GET", R),
    ("/api/trading/trades/BTC-USDT", "GET", R),
    ("/api/market/pairs", "GET", R),
    ("/api/market/prices", "GET", R),
    ("/api/market/ticker/BTC-USDT", "GET", R),
    ("/api/market/stats", "GET", R),
    ("/api/market/candles/BTC-USDT", "GET", R),
    ("/api/admin/wallets", "GET", None),
    ("/api/admin/cold-wallets", "GET", None),
    ("/api/admin/cold-transfers", "GET", None),
    ("/api/admin/cold-transfers", "POST", None),
    ("/api/admin/cold-transfers/1/approve", "POST", None),
    ("/api/admin/cold-transfers/1/execute", "POST", None),
    ("/api/admin/cold-wallet-changes", "GET", None),
    ("/api/admin/cold-wallet-changes", "POST", None),
    ("/api/admin/cold-wallet-changes/1/approve", "POST", None),
    ("/api/admin/cold-wallet-changes/1/reject", "POST", None),
    ("/api/api-keys", "GET", None),
    ("/api/api-keys", "POST", None),
    ("/api/api-keys", "OPTIONS", None),
    ("/api/api-keys/1", "PATCH", None),
    ("/api/api-keys/1", "DELETE", None),
    ("/api/api-keys/1/usage", "GET", None),
    ("/api/schema", "GET", R),
    ("/api/docs", "GET", R),
]


@pytest.mark.parametrize(("path", "method", "scope"), BEFORE)
def test_each_endpoint_keeps_the_policy_of_the_prefix_table(path: str, method: str, scope: Scope | None) -> None:
    # Given the view an endpoint resolves to
    view = resolve(path).func.cls

    # When the scope a key needs for the method is asked
    # Then it is the one the prefix table asked for
    assert required_scope(view, method) == scope


def test_every_api_endpoint_is_in_the_table() -> None:
    # Given the endpoints of the table and the API views of the URL tree
    tabled = {resolve(path).func.cls for path, _, _ in BEFORE}

    # When they are compared / Then no API view was left out of the comparison
    assert {view for route, view in api_views() if route.startswith("/api/")} <= tabled


@pytest.mark.parametrize(
    ("policy", "method", "scope"),
    [
        (Scope.TRADE, "POST", T),
        (Scope.TRADE, "OPTIONS", T),
        ({"GET": R, "DELETE": T}, "HEAD", R),
        ({"POST": W}, "HEAD", None),
        ({"POST": W}, "GET", None),
        ({"POST": W}, "options", R),
        (NO_API_KEYS, "GET", None),
        (NO_API_KEYS, "OPTIONS", None),
        ("read", "GET", None),  # a plain string is no Scope: closed, not guessed at
        ({"GET": "read"}, "GET", None),
    ],
)
def test_the_forms_of_a_policy(policy: Any, method: str, scope: Scope | None) -> None:
    # Given a view with this policy
    view = type("View", (), {"required_scopes": policy})

    # When the scope for the method is asked / Then it is the expected one
    assert required_scope(view, method) == scope


def test_a_view_that_states_nothing_is_closed_to_keys() -> None:
    # Given a view without `required_scopes`
    # When the scope for any method is asked / Then keys may not call it
    assert [required_scope(NoPolicyApi, method) for method in ("GET", "HEAD", "OPTIONS", "POST")] == [None] * 4


class PublicNoPolicyApi(NoPolicyApi):
    permission_classes = [AllowAny]


urlpatterns = [
    path("unstated", NoPolicyApi.as_view()),
    path("public-unstated", PublicNoPolicyApi.as_view()),
]


def refused(response: Any, status: int, code: str) -> None:
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.content


@pytest.mark.django_db
@pytest.mark.urls("exchange.tests.test_scopes")
def test_a_signed_request_to_a_view_without_a_policy_is_refused_and_other_requests_are_not() -> None:
    # Given two views that state no policy, one with its own permission classes, and a key with every scope
    user = trader("alice")
    new = create_key(user=user, label="bot", scopes=["read", "trade", "withdraw"])  # not through this URL tree
    signed = Signed(new.key, new.secret)

    # When the key calls them / Then both refuse it, in the API's error shape
    refused(signed.get("/unstated"), 403, "not_for_api_keys")
    refused(signed.get("/public-unstated"), 403, "not_for_api_keys")

    # When the user's own token calls them / Then they answer as before
    assert client_for(user).get("/unstated").status_code == 200
    assert client_for(user).get("/public-unstated").status_code == 200


@pytest.mark.django_db
def test_views_with_their_own_permissions_still_check_the_key() -> None:
    # Given a key that may trade but not read
    markets()
    body = create(trader("alice", USDT="1000"), scopes=["trade"])
    signed = Signed(body["key"], body["secret"])

    # When it reads a public market view (`permission_classes = [AllowAny]`)
    # Then the missing scope refuses it
    refused(signed.get("/api/market/pairs"), 403, "scope_missing")

    # When it places an order, whose view picks its own permissions by method (`get_permissions`)
    order = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "50000", "quantity": "0.01"}
    # Then `trade` lets it through, while a read-only key is refused before the view's KYC check
    assert signed.post("/api/trading/orders", order).status_code == 201
    reader = create(trader("bob", USDT="1000"), scopes=["read"])
    refused(Signed(reader["key"], reader["secret"]).post("/api/trading/orders", order), 403, "scope_missing")


@pytest.mark.django_db
def test_head_goes_with_get_and_options_with_read() -> None:
    # Given a read-only key
    body = create(trader("alice"), scopes=["read"])
    signed = Signed(body["key"], body["secret"])

    def call(method: str, route: str) -> Any:
        return signed.client.generic(method, route, **signed.headers(method, route))

    # When it sends HEAD to a readable view, and OPTIONS to one it may only write to
    # Then both are answered; OPTIONS on key management is refused
    assert call("HEAD", "/api/wallet/balances").status_code == 200
    assert call("OPTIONS", "/api/wallet/withdraw").status_code == 200
    refused(call("OPTIONS", "/api/api-keys"), 403, "not_for_api_keys")
