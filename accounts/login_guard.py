"""Failed logins: how they are counted and what the counts do. Page and API logins alike.

Each failed password check is counted for an hour (from the first failure) under three keys:

- the (account, address) pair: past LOGIN_FAILURES_PER_ACCOUNT_IP, that address may not try that
  account again; its owner, elsewhere, is not affected;
- the address: past LOGIN_FAILURES_PER_IP, that address may not try any account;
- the account, from every address: past LOGIN_FAILURES_PER_ACCOUNT the account is *under attack*.
  That refuses nobody outright, since anyone can get an account there and a lockout would be theirs
  to hand out. Instead, for the rest of the hour:
  * its owner is told once, by email and in the audit log;
  * with 2FA on, a right password counts only together with a valid code: without one, or with a
    wrong one, the answer is the one a wrong password gets, so guessing tells nothing. The right
    password with a valid code signs in at once, from anywhere;
  * without 2FA, addresses that never signed in to the account share one password check per
    LOGIN_SLOW_SECONDS for it; addresses it was signed in from before are not slowed.

A refused attempt is neither checked nor counted. A failure is counted before anything else is done
about it (the audit row, the alert), so no exception on the way can skip the count. The address is
exchange.core.client_address's. Without Redis nothing is counted or refused, and a warning is logged.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from redis.exceptions import RedisError

from accounts import audit
from accounts.models import AuditAction, AuditEvent, User
from exchange.core import redis
from exchange.core.errors import DomainError

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600


class LoginThrottled(DomainError):
    code = "login_throttled"
    status_code = 429
    default_message = "Too many failed logins: wait before trying again."


@dataclass(frozen=True)
class Attempt:
    """One login attempt: the name it is for, where it comes from, and whether that account is under attack."""

    username: str
    address: str
    under_attack: bool = False

    @property
    def _account(self) -> str:
        # Hashed: the name is whatever the client typed, of any length.
        return hashlib.sha256(self.username.strip().lower().encode()).hexdigest()[:32]

    @property
    def pair_key(self) -> str:
        return f"login-failures:pair:{self._account}:{self.address}"

    @property
    def address_key(self) -> str:
        return f"login-failures:ip:{self.address}"

    @property
    def account_key(self) -> str:
        return f"login-failures:account:{self._account}"

    @property
    def slow_key(self) -> str:
        return f"login-slow:{self._account}"

    @property
    def alerted_key(self) -> str:
        return f"login-alerted:{self._account}"


def begin(*, username: str, address: str) -> Attempt:
    """Refuse an address past its limits (LoginThrottled); else return the attempt, under attack or not."""
    attempt = Attempt(username=username, address=address)
    limits = {
        attempt.pair_key: settings.LOGIN_FAILURES_PER_ACCOUNT_IP,
        attempt.address_key: settings.LOGIN_FAILURES_PER_IP,
    }
    try:
        client = redis.client()
        pair, by_address, account = client.mget([attempt.pair_key, attempt.address_key, attempt.account_key])
        for key, count in ((attempt.pair_key, pair), (attempt.address_key, by_address)):
            if count is not None and int(count) >= limits[key]:
                raise LoginThrottled(retry_after=max(1, int(client.ttl(key))))
    except RedisError:
        logger.warning("login throttling: Redis unavailable, not counting", exc_info=True)
        return attempt
    under_attack = account is not None and int(account) >= settings.LOGIN_FAILURES_PER_ACCOUNT
    return Attempt(username=username, address=address, under_attack=under_attack)


def account_named(username: str) -> User | None:
    """The active account a login names (usernames are matched regardless of case), if any."""
    return User.objects.filter(username__iexact=username.strip(), is_active=True).first() if username.strip() else None


def signed_in_from(user: User, address: str) -> bool:
    return AuditEvent.objects.filter(user=user, action=AuditAction.LOGIN_SUCCEEDED, ip=address).exists()


def slow_down(attempt: Attempt) -> None:
    """Let one password check through per LOGIN_SLOW_SECONDS for the account; refuse the others."""
    try:
        client = redis.client()
        if client.set(attempt.slow_key, 1, ex=settings.LOGIN_SLOW_SECONDS, nx=True):
            return
        wait = max(1, int(client.ttl(attempt.slow_key)))
    except RedisError:
        logger.warning("login throttling: Redis unavailable, not slowing", exc_info=True)
        return
    raise LoginThrottled(
        "This account has seen many failed sign-ins: wait a moment, or sign in from an address you used before.",
        retry_after=wait,
    )


def failed(attempt: Attempt, *, user: User | None) -> None:
    """Count a failed login, then record it; alert the owner the first time the account is under attack."""
    account_failures = 0
    try:
        pipe = redis.client().pipeline()
        for key in (attempt.pair_key, attempt.address_key, attempt.account_key):
            pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)  # the hour starts at the first failure
            pipe.incr(key)
        account_failures = int(pipe.execute()[-1])
        alert = account_failures >= settings.LOGIN_FAILURES_PER_ACCOUNT and bool(
            redis.client().set(attempt.alerted_key, 1, ex=WINDOW_SECONDS, nx=True)
        )
    except RedisError:
        logger.warning("login throttling: Redis unavailable, not counting", exc_info=True)
        alert = False
    with transaction.atomic():  # the alert's email goes after the commit
        audit.record(AuditAction.LOGIN_FAILED, user=user, username=attempt.username.strip()[:150])
        if alert and user is not None:
            audit.record(AuditAction.LOGIN_FAILURES_ALERT, user=user, failures=account_failures)
