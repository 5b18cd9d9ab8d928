"""Writes for accounts: registration, credentials, tokens, two-factor authentication, passwords.

The pages and the API call these same functions; each owns its transaction.
"""

from __future__ import annotations

import base64
import logging
import math
from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.models import update_last_login
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts import audit, login_guard
from accounts.lock_objects import lock_outstanding_token, lock_user
from accounts.models import AuditAction, Notification, User
from accounts.notifications import Notice, email_of
from accounts.token_claims import AMR_CLAIM, DEVICE_CLAIM, second_factor_claims
from exchange.core import client_address, streams
from exchange.core.errors import Conflict, DomainError, ValidationFailed

BACKUP_DEVICE_NAME = "Backup codes"
TOTP_DEVICE_NAME = "Authenticator app"


logger = logging.getLogger(__name__)


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status_code = 401
    default_message = "Invalid username or password."


class OtpRequired(DomainError):
    code = "otp_required"
    status_code = 401
    default_message = "Two-factor authentication is on: a code from your authenticator app is required."


class OtpInvalid(DomainError):
    code = "otp_invalid"
    status_code = 401
    default_message = "The code is wrong, expired or already used."


class OtpThrottled(DomainError):
    code = "otp_throttled"
    status_code = 429
    default_message = "Too many wrong codes: wait a moment before trying again."


class InvalidRefreshToken(DomainError):
    code = "token_not_valid"
    status_code = 401
    default_message = "The refresh token is invalid, expired or revoked."


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


@dataclass(frozen=True)
class TwoFactorSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    pending_setup: bool
    backup_codes_remaining: int


# --- Registration and credentials -----------------------------------------------------------------


def register_user(*, username: str, email: str, password: str) -> User:
    """Create a trader account, or raise ValidationFailed with the reason for each field."""
    username = username.strip()
    email = User.objects.normalize_email(email.strip())
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["This field is required."]
    else:
        try:
            User.username_validator(username)
        except DjangoValidationError as exc:
            errors["username"] = list(exc.messages)
        if len(username) > 150:
            errors["username"] = ["At most 150 characters."]
        elif User.objects.filter(username__iexact=username).exists():
            errors["username"] = ["This username is taken."]
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = ["Enter a valid email address."]
    else:
        if User.objects.filter(email__iexact=email).exists():
            errors["email"] = ["An account with this email exists."]
    try:
        password_validation.validate_password(password, User(username=username, email=email))
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], details=errors)

    try:
        with transaction.atomic(durable=True):
            user: User = User.objects.create_user(username=username, email=email, password=password)
            return user
    except IntegrityError:
        # Two registrations raced past the checks above; the case-insensitive constraints decide.
        raise ValidationFailed(
            "This username or email is taken.", details={"username": ["This username or email is taken."]}
        ) from None


@dataclass(frozen=True)
class PasswordStep:
    """The first step of a login: the attempt as accounts.login_guard sees it, and what comes next.

    `user` is the account signing in. It is set when the password was right, and also when it was
    wrong for an account under attack with 2FA on: then the code step follows all the same, so that
    no answer tells a right password from a wrong one (`password_ok` remembers which it was).
    """

    attempt: login_guard.Attempt
    user: User | None
    password_ok: bool
    needs_code: bool


UNDER_ATTACK_MESSAGE = (
    "The username, the password or the code is wrong. This account has seen many failed sign-ins: "
    "send the code from your authenticator app together with the password."
)


def check_password(*, request: HttpRequest | None, username: str, password: str) -> PasswordStep:
    """Check a login's password under the failed-login policy (accounts/login_guard.py).

    Raises LoginThrottled (then the password is not even checked) or InvalidCredentials.
    """
    address = client_address.of_request(request) if request is not None else client_address.UNKNOWN
    attempt = login_guard.begin(username=username, address=address)
    account = login_guard.account_named(username)
    two_factor = account is not None and has_two_factor(account)
    if attempt.under_attack and not two_factor and not (account and login_guard.signed_in_from(account, address)):
        login_guard.slow_down(attempt)
    try:
        user = authenticate(request, username=username, password=password)
    except Exception:
        login_guard.failed(attempt, user=account)  # whatever broke, the failure counts
        raise
    if not isinstance(user, User):
        login_guard.failed(attempt, user=account)
        if attempt.under_attack and two_factor:
            return PasswordStep(attempt=attempt, user=account, password_ok=False, needs_code=True)
        raise InvalidCredentials()
    return PasswordStep(attempt=attempt, user=user, password_ok=True, needs_code=has_two_factor(user))


def pass_second_factor(*, step: PasswordStep, code: str | None) -> Device:
    """Check the code of a login's second step; return the device that accepted it.

    Under attack every failure, a wrong password included, is InvalidCredentials, and a code is
    checked only after a right password (a wrong code after a right one counts as a failed login).
    """
    user = step.user
    if user is None:
        raise InvalidCredentials()
    if not step.attempt.under_attack:
        if not code:
            raise OtpRequired()
        return verify_second_factor(user=user, code=code)
    if step.password_ok and code:
        try:
            return verify_second_factor(user=user, code=code)
        except (OtpInvalid, OtpThrottled):
            pass
    if step.password_ok:
        login_guard.failed(step.attempt, user=user)  # a wrong password was counted when it was checked
    raise InvalidCredentials(UNDER_ATTACK_MESSAGE)


def login_api(*, request: HttpRequest | None, username: str, password: str, otp: str | None) -> TokenPair:
    """Check credentials and, when 2FA is on, a code; return a fresh access/refresh pair.

    The tokens of a login that passed a code say so (accounts/token_claims.py): staff endpoints take no other.
    """
    step = check_password(request=request, username=username, password=password)
    device = pass_second_factor(step=step, code=otp) if step.needs_code else None
    user = step.user
    if user is None or not step.password_ok:
        raise InvalidCredentials()
    with transaction.atomic(durable=True):  # the sign-in's audit row and its tokens commit together
        audit.record(AuditAction.LOGIN_SUCCEEDED, user=user, via="api")
        return issue_tokens(user=user, claims=second_factor_claims(device) if device is not None else None)


def issue_tokens(*, user: User, claims: dict[str, Any] | None = None) -> TokenPair:
    """Return a fresh pair; `claims` go into both tokens, and into those that a refresh turns them into."""
    refresh = RefreshToken.for_user(user)
    for name, value in (claims or {}).items():
        refresh[name] = value
    update_last_login(User, user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def refresh_tokens(*, refresh: str) -> TokenPair:
    """Rotate a refresh token: blacklist it and return a new pair."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]
        user = User.objects.get(pk=token["user_id"], is_active=True)
    except (TokenError, User.DoesNotExist, KeyError):
        raise InvalidRefreshToken() from None
    try:
        with transaction.atomic(durable=True):
            # Two refreshes racing with one token: the lock makes the second see it spent.
            outstanding = lock_outstanding_token(jti=token["jti"]) or OutstandingToken.objects.create(
                jti=token["jti"],
                user=user,
                token=refresh,
                created_at=timezone.now(),
                expires_at=datetime_from_epoch(token["exp"]),
            )
            _, newly_blacklisted = BlacklistedToken.objects.get_or_create(token=outstanding)
            if not newly_blacklisted:
                raise InvalidRefreshToken()
    except IntegrityError:
        raise InvalidRefreshToken() from None  # its first use, raced: the other one won
    # The login's second factor carries over: a rotation is the same sign-in, continued.
    carried = {name: token[name] for name in (AMR_CLAIM, DEVICE_CLAIM) if name in token}
    return issue_tokens(user=user, claims=carried)


def logout_tokens(*, user: User, refresh: str) -> None:
    """Blacklist a refresh token of this user, so it can never be used again."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError:
        raise InvalidRefreshToken() from None
    if str(token.get("user_id")) != str(user.pk):
        raise InvalidRefreshToken()
    token.blacklist()
    _end_jwt_streams(user)


def revoke_all_refresh_tokens(*, user: User) -> None:
    """Blacklist every refresh token of the user that is not blacklisted yet."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    _end_jwt_streams(user)


def _end_jwt_streams(user: User) -> None:
    """Sign out, on commit, every stream the user authenticated with a JWT.

    Every one: an access token does not say which refresh token it came from.
    """
    transaction.on_commit(lambda: streams.publish_revoked(user_id=user.pk, credential=streams.Credential.JWT))


def end_session_streams(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    """Sign out the streams a session authenticated, as it logs out (`user_logged_out`, before the flush)."""
    if request is None or user is None or not request.session.session_key:
        return
    ref = streams.session_ref(request.session.session_key)
    # logout() flushes the session only after this signal. Deleted first, it cannot sign in the page
    # that reloads on the news (the dashboard does) a moment before the flush would have.
    request.session.delete()
    transaction.on_commit(
        lambda: streams.publish_revoked(user_id=user.pk, credential=streams.Credential.SESSION, ref=ref)
    )


def change_password(*, user: User, old_password: str, new_password: str) -> None:
    """Change the password, and sign out every API client of the user."""
    if not user.check_password(old_password):
        raise ValidationFailed(
            "Your current password is wrong.", details={"old_password": ["Your current password is wrong."]}
        )
    try:
        password_validation.validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.messages[0], details={"new_password": list(exc.messages)}) from None
    with transaction.atomic(durable=True):
        user.set_password(new_password)
        user.security_changed_at = timezone.now()
        user.save(update_fields=["password", "security_changed_at"])
        revoke_all_refresh_tokens(user=user)
        # The other sessions end at their next request (their hash is stale), and so do their streams.
        transaction.on_commit(lambda: streams.publish_revoked(user_id=user.pk, credential=streams.Credential.SESSION))
        audit.record(AuditAction.PASSWORD_CHANGED, user=user)


# --- Two-factor authentication ----------------------------------------------------------------------


def has_two_factor(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def verify_second_factor(*, user: User, code: str) -> Device:
    """Return the device that accepts this code (TOTP or a backup code), or raise.

    A TOTP code is accepted once (django-otp remembers the last time step used); a backup code is
    deleted when used. Each wrong code doubles the wait before the next try (1 s, 2 s, 4 s ...):
    a code sent during the wait is not even checked, and the caller learns how long to wait.
    """
    code = "".join(code.split())
    if not code:
        raise OtpInvalid()
    wait_seconds = 0
    with transaction.atomic():  # rows locked, and failure counts kept, for the whole check
        devices = list(devices_for_user(user, confirmed=True, for_verify=True))
        for device in devices:
            allowed, info = device.verify_is_allowed()
            if not allowed:
                locked_until = (info or {}).get("locked_until")
                if locked_until is not None:
                    remaining = (locked_until - timezone.now()).total_seconds()
                    wait_seconds = max(wait_seconds, math.ceil(remaining))
                continue
            if device.verify_token(code):
                # The code failed on the user's other devices on the way here: that is no attack.
                for other in devices:
                    if other is not device and other.throttling_failure_count:
                        other.throttle_reset()
                return device
    if wait_seconds > 0:
        raise OtpThrottled(f"Too many wrong codes: try again in {wait_seconds} s.", retry_after=wait_seconds)
    raise OtpInvalid()


def two_factor_status(*, user: User) -> TwoFactorStatus:
    backup = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
    return TwoFactorStatus(
        enabled=has_two_factor(user),
        pending_setup=TOTPDevice.objects.filter(user=user, confirmed=False).exists(),
        backup_codes_remaining=backup,
    )


def describe_setup(device: TOTPDevice) -> TwoFactorSetup:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    uri = device.config_url
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, title="Scan with your authenticator app")
    return TwoFactorSetup(secret=secret, otpauth_uri=uri, qr_svg=qr_svg)


def start_two_factor_setup(*, user: User) -> TwoFactorSetup:
    """Create a fresh, unconfirmed authenticator device and return what the user scans."""
    with transaction.atomic(durable=True):
        lock_user(user_id=user.pk)  # serialize setups of one user
        if has_two_factor(user):
            raise Conflict("Two-factor authentication is already on.", details={"code": "2fa_enabled"})
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return describe_setup(device)


def pending_setup(*, user: User) -> TwoFactorSetup | None:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return describe_setup(device) if device else None


def confirm_two_factor(*, user: User, code: str) -> list[str]:
    """Turn 2FA on with a current code from the pending device; return new one-time backup codes.

    Like every 2FA change it locks withdrawals for a while (`security_changed_at`): whoever holds a
    stolen session could otherwise enrol their own device and withdraw with its codes at once.
    """
    code = "".join(code.split())
    with transaction.atomic(durable=True):
        lock_user(user_id=user.pk)
        if has_two_factor(user):
            raise Conflict("Two-factor authentication is already on.")
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            raise Conflict("Start the setup first.", details={"code": "2fa_not_started"})
        if not code or not device.verify_token(code):
            raise OtpInvalid()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        user.security_changed_at = timezone.now()
        user.save(update_fields=["security_changed_at"])
        audit.record(AuditAction.TWO_FACTOR_ENABLED, user=user)
        return _replace_backup_codes(user=user)


def _replace_backup_codes(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def disable_two_factor(*, user: User, code: str) -> None:
    """Turn 2FA off; needs a current code (or a backup code)."""
    if not has_two_factor(user):
        raise Conflict("Two-factor authentication is not on.", details={"code": "2fa_disabled"})
    verify_second_factor(user=user, code=code)
    with transaction.atomic(durable=True):
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        user.security_changed_at = timezone.now()
        user.save(update_fields=["security_changed_at"])
        revoke_all_refresh_tokens(user=user)  # a session that got in with the old factor ends
        audit.record(AuditAction.TWO_FACTOR_DISABLED, user=user)


def cancel_two_factor_setup(*, user: User) -> None:
    """Forget an unconfirmed authenticator device."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()


def confirmed_totp_device(*, user: User) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=True)


# --- Notifications ----------------------------------------------------------------------------------


def notify_user(notice: Notice, *, email: bool = True) -> Notification:
    """Record an in-app notification and send it by email. Called from Celery tasks, after commit."""
    user = User.objects.get(pk=notice.user_id)
    notification = Notification.objects.create(user=user, title=notice.title, body=notice.body, link=notice.link)
    message = {
        "type": "user.notification",
        "id": notification.pk,
        "title": notice.title,
        "body": notice.body,
        "link": notice.link,
        "created_at": notification.created_at.isoformat(),
    }
    transaction.on_commit(lambda: streams.publish_to_users([user.pk], message))  # the toast on open pages
    if email and user.email:
        sent = email_of(notice)
        send_mail(subject=sent.subject, message=sent.body, from_email=None, recipient_list=[user.email])
    return notification
