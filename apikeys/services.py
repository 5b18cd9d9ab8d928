"""API keys: create (the secret is shown once), change, revoke. Usage counting is in apikeys/usage.py.

Creating a key, or widening one, needs a current second-factor code when the user has 2FA on. The
key and the secret are random; the key is stored as a hash, the secret encrypted (apikeys/crypto.py).
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.lock_objects import lock_user
from accounts.models import AuditAction, User
from accounts.services import OtpRequired, has_two_factor, verify_second_factor
from apikeys import crypto
from apikeys.lock_objects import lock_api_key
from apikeys.models import ApiKey
from exchange.core import streams
from exchange.core.errors import NotFound, ValidationFailed
from exchange.core.scopes import Scope

KEY_PREFIX = "ox_"
MAX_KEYS_PER_USER = 20
MAX_WHITELIST = 50


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    key: str
    secret: str  # shown once, never again


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def clean_scopes(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise _refuse("scopes", "scopes is a non-empty list of read, trade and withdraw.")
    unknown = sorted(set(raw) - set(Scope.values))
    if unknown:
        raise _refuse("scopes", f"Unknown scopes: {', '.join(unknown)} (read, trade, withdraw).")
    return sorted(set(raw), key=Scope.values.index)


def clean_whitelist(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise _refuse("ip_whitelist", "ip_whitelist is a list of addresses or CIDR ranges.")
    if len(raw) > MAX_WHITELIST:
        raise _refuse("ip_whitelist", f"At most {MAX_WHITELIST} entries.")
    cleaned = []
    for entry in raw:
        try:
            cleaned.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
        except ValueError:
            raise _refuse("ip_whitelist", f"{entry!r} is not an IP address or CIDR range.") from None
    return sorted(set(cleaned))


def clean_label(raw: Any) -> str:
    label = str(raw or "").strip()
    if not label or len(label) > 64:
        raise _refuse("label", "A label of 1 to 64 characters.")
    return label


def create_key(
    *,
    user: User,
    label: str,
    scopes: Any,
    ip_whitelist: Any = None,
    expires_at: datetime | None = None,
    otp: str | None = None,
) -> NewKey:
    label, scope_list, whitelist = clean_label(label), clean_scopes(scopes), clean_whitelist(ip_whitelist)
    if expires_at is not None and expires_at <= timezone.now():
        raise _refuse("expires_at", "The expiry must be in the future.")
    if has_two_factor(user):
        if not otp:
            raise OtpRequired("Creating an API key needs a code from your authenticator app.")
        verify_second_factor(user=user, code=otp)
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    secret = secrets.token_urlsafe(36)
    # The key and its audit row commit together, or neither does.
    with transaction.atomic(durable=True):
        lock_user(user_id=user.pk)  # two creations at once cannot both pass the count
        if ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_KEYS_PER_USER:
            raise _refuse("label", f"At most {MAX_KEYS_PER_USER} active keys: revoke one first.")
        api_key = ApiKey.objects.create(
            user=user,
            label=label,
            prefix=key[:10],
            key_hash=crypto.key_hash(key),
            secret_encrypted=crypto.encrypt(secret),
            scopes=scope_list,
            ip_whitelist=whitelist,
            expires_at=expires_at,
        )
        audit.record(AuditAction.API_KEY_CREATED, user=user, key=api_key.pk, label=label, scopes=scope_list)
    return NewKey(api_key, key, secret)


def key_of(*, user: User, key_id: int) -> ApiKey:
    """One of the user's keys; anyone else's is 'not found'."""
    api_key = ApiKey.objects.filter(pk=key_id, user=user).first()
    if api_key is None:
        raise NotFound("No such API key.")
    return api_key


def widening(api_key: ApiKey, cleaned: dict[str, Any]) -> list[str]:
    """Return the fields of a change that let the key do more than it does now.

    A scope it lacked; a whitelist removed, or one covering an address the old one did not; an
    expiry later than the one it has, or none. A key with no whitelist (any address) or no expiry
    cannot be widened that way.
    """
    fields = []
    if "scopes" in cleaned and set(cleaned["scopes"]) - set(api_key.scopes):
        fields.append("scopes")
    if "ip_whitelist" in cleaned and api_key.ip_whitelist:
        old = [ipaddress.ip_network(entry) for entry in api_key.ip_whitelist]
        new = [ipaddress.ip_network(entry) for entry in cleaned["ip_whitelist"]]
        if not new or any(not _covered(network, old) for network in new):
            fields.append("ip_whitelist")
    if "expires_at" in cleaned and api_key.expires_at is not None:
        later = cleaned["expires_at"]
        if later is None or later > api_key.expires_at:
            fields.append("expires_at")
    return fields


def _covered(network: ipaddress.IPv4Network | ipaddress.IPv6Network,
             within: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:  # fmt: skip
    return any(network.version == other.version and network.subnet_of(other) for other in within)  # type: ignore[arg-type]


def update_key(*, user: User, key_id: int, changes: dict[str, Any], otp: str | None = None) -> ApiKey:
    """Change a key's label, scopes, whitelist or expiry.

    A change that widens the key (see `widening`) needs a current second-factor code when the user
    has 2FA on, as creating a key does: else whoever holds a session could turn a read-only key
    into one that withdraws from anywhere.
    """
    cleaned: dict[str, Any] = {}
    if "label" in changes:
        cleaned["label"] = clean_label(changes["label"])
    if "scopes" in changes:
        cleaned["scopes"] = clean_scopes(changes["scopes"])
    if "ip_whitelist" in changes:
        cleaned["ip_whitelist"] = clean_whitelist(changes["ip_whitelist"])
    if "expires_at" in changes:
        cleaned["expires_at"] = changes["expires_at"]
        if cleaned["expires_at"] is not None and cleaned["expires_at"] <= timezone.now():
            raise _refuse("expires_at", "The expiry must be in the future.")
    # The code is checked before the transaction: a wrong one must count, not be rolled back with it.
    code_checked = False
    if widening(key_of(user=user, key_id=key_id), cleaned) and has_two_factor(user):
        if not otp:
            raise OtpRequired("Widening an API key needs a code from your authenticator app.")
        verify_second_factor(user=user, code=otp)
        code_checked = True
    with transaction.atomic(durable=True):  # the change and its audit row commit together
        api_key = lock_api_key(user_id=user.pk, key_id=key_id)
        if api_key.revoked_at is not None:
            raise ValidationFailed("This key is revoked.", details={"key": ["revoked"]})
        if not code_checked and widening(api_key, cleaned) and has_two_factor(user):
            # Another change landed since the first look, and against it this one widens the key.
            raise OtpRequired("Widening an API key needs a code from your authenticator app.")
        for name, value in cleaned.items():
            setattr(api_key, name, value)
        api_key.save(update_fields=list(cleaned))
        recorded = {
            name: value.isoformat() if isinstance(value, datetime) else value for name, value in cleaned.items()
        }
        audit.record(AuditAction.API_KEY_CHANGED, user=user, key=api_key.pk, changes=recorded)
    return api_key


def revoke_key(*, user: User, key_id: int) -> ApiKey:
    api_key = key_of(user=user, key_id=key_id)
    with transaction.atomic(durable=True):  # the revocation and its audit row commit together
        if ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
            audit.record(AuditAction.API_KEY_REVOKED, user=user, key=api_key.pk, label=api_key.label)
            transaction.on_commit(  # and the streams it authenticated sign out
                lambda: streams.publish_revoked(
                    user_id=user.pk, credential=streams.Credential.API_KEY, ref=str(api_key.pk)
                )
            )
    api_key.refresh_from_db()
    return api_key
