"""Signed API-key requests (ARCHITECTURE.md, "Authentication").

A request carries `X-API-KEY`, `X-API-TIMESTAMP` (milliseconds since the epoch) and `X-API-SIGNATURE`:
the hex HMAC-SHA256, keyed with the secret, of `timestamp + METHOD + path + ("?" + query if any) + body`.
Refused with 401: an unknown, revoked or expired key, a timestamp outside the 5-second window, a
signature that does not match (compared in constant time), or one seen before (a replay inside the
window). Refused with 403: a request from outside the key's IP whitelist (the client's address is
exchange.core.client_address's), or one the view's `required_scopes` do not open to this key's scopes
(exchange.core.scopes).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time

from cryptography.fernet import InvalidToken
from django.core.cache import cache
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request

from accounts.models import User
from apikeys import crypto, usage
from apikeys.models import ApiKey
from exchange.core import client_address
from exchange.core.scopes import check_scope

logger = logging.getLogger(__name__)

WINDOW_MS = 5_000


def signature(secret: str, timestamp: str, method: str, path: str, query: str, body: bytes) -> str:  # noqa: PLR0917
    message = f"{timestamp}{method.upper()}{path}{'?' + query if query else ''}".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def ip_allowed(api_key: ApiKey, ip: str) -> bool:
    if not api_key.ip_whitelist:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry) for entry in api_key.ip_whitelist)


def verify(*, key: str, timestamp: str, sig: str, method: str, path: str, query: str, body: bytes) -> ApiKey:
    """Return the active key whose secret signed this message, or raise AuthenticationFailed."""
    api_key = ApiKey.objects.select_related("user").filter(key_hash=crypto.key_hash(key)).first()
    if api_key is None or not api_key.is_active or not api_key.user.is_active:
        raise AuthenticationFailed("Unknown, revoked or expired API key.", code="api_key_invalid")
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > WINDOW_MS:
        raise AuthenticationFailed(
            "X-API-TIMESTAMP is outside the 5-second window (milliseconds since the epoch; check your clock).",
            code="timestamp_out_of_window",
        )
    try:
        secret = crypto.decrypt(api_key.secret_encrypted)
    except InvalidToken:
        # An operator dropped the encryption key this secret was written with before rotating it.
        logger.error("API key %s: its secret cannot be decrypted with API_KEY_ENCRYPTION_KEYS", api_key.pk)
        raise AuthenticationFailed("This API key cannot be used: create a new one.", code="api_key_invalid") from None
    expected = signature(secret, timestamp, method, path, query, body)
    if not hmac.compare_digest(expected, sig.lower()):
        raise AuthenticationFailed("The signature does not match the request.", code="signature_invalid")
    if not cache.add(f"apikeys:seen:{sig.lower()}", 1, timeout=2 * WINDOW_MS // 1000):
        raise AuthenticationFailed("This signed request was sent before.", code="replayed")
    return api_key


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        key = request.META.get("HTTP_X_API_KEY")
        if not key:
            return None
        timestamp = request.META.get("HTTP_X_API_TIMESTAMP", "")
        sig = request.META.get("HTTP_X_API_SIGNATURE", "")
        if not timestamp or not sig:
            raise AuthenticationFailed("X-API-KEY needs X-API-TIMESTAMP and X-API-SIGNATURE.", code="signature_missing")
        django_request = request._request
        api_key = verify(
            key=key,
            timestamp=timestamp,
            sig=sig,
            method=django_request.method or "",
            path=django_request.path,
            query=django_request.META.get("QUERY_STRING", ""),
            body=django_request.body,
        )
        ip = client_address.of_request(django_request)
        if not ip_allowed(api_key, ip):
            raise PermissionDenied(f"This API key may not be used from {ip}.", code="ip_not_allowed")
        # Here rather than in a permission class, so that no view's own permissions can leave it out.
        check_scope(api_key, request.parser_context.get("view"), django_request.method or "")
        match = django_request.resolver_match
        endpoint = (
            f"{django_request.method} /{match.route}" if match else f"{django_request.method} {django_request.path}"
        )
        usage.record_use(api_key=api_key, endpoint=endpoint[:120], ip=ip or None)
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'X-API-KEY realm="api"'
