"""Users of the exchange."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower


class KycStatus(models.TextChoices):
    NONE = "none", "Not submitted"
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class UserManager(DjangoUserManager):  # type: ignore[type-arg]
    def get_by_natural_key(self, username: str | None) -> User:
        """Find the user for a login regardless of the case the username is typed in."""
        user: User = self.get(username__iexact=username)
        return user


class User(AbstractUser):
    """A trader or a staff member. Usernames and emails are unique regardless of case."""

    email = models.EmailField("email address")
    kyc_status = models.CharField(max_length=16, choices=KycStatus.choices, default=KycStatus.NONE)
    kyc_level = models.PositiveSmallIntegerField(default=0)
    # Set on password change and on 2FA being turned on or off: withdrawals stay locked for a while after.
    security_changed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(kyc_level__lte=2), name="accounts_user_kyc_level_range"),
        ]

    def __str__(self) -> str:
        return self.username


class Notification(models.Model):
    """A message to a user, shown in the app (and usually also sent by email)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.title} → {self.user}"


class AuditAction(models.TextChoices):
    LOGIN_SUCCEEDED = "login_succeeded", "Signed in"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    LOGIN_FAILURES_ALERT = "login_failures_alert", "Many failed sign-ins: slowed down"
    TWO_FACTOR_ENABLED = "two_factor_enabled", "Two-factor authentication turned on"
    TWO_FACTOR_DISABLED = "two_factor_disabled", "Two-factor authentication turned off"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    API_KEY_CREATED = "api_key_created", "API key created"
    API_KEY_CHANGED = "api_key_changed", "API key changed"
    API_KEY_REVOKED = "api_key_revoked", "API key revoked"
    WITHDRAWAL_REQUESTED = "withdrawal_requested", "Withdrawal requested"
    WITHDRAWAL_APPROVED = "withdrawal_approved", "Withdrawal approved by staff"
    WITHDRAWAL_REJECTED = "withdrawal_rejected", "Withdrawal rejected by staff"
    KYC_APPROVED = "kyc_approved", "Verification approved by staff"
    KYC_REJECTED = "kyc_rejected", "Verification rejected by staff"
    TREASURY_REQUESTED = "treasury_requested", "Hot/cold transfer requested"
    TREASURY_APPROVED = "treasury_approved", "Hot/cold transfer approved"
    TREASURY_EXECUTED = "treasury_executed", "Hot/cold transfer executed"
    COLD_WALLET_CHANGE_REQUESTED = "cold_wallet_change_requested", "Cold-wallet address change requested"
    COLD_WALLET_CHANGED = "cold_wallet_changed", "Cold-wallet address changed (second approval)"
    COLD_WALLET_CHANGE_REJECTED = "cold_wallet_change_rejected", "Cold-wallet address change rejected"
    DEPOSIT_RETRIED = "deposit_retried", "Held deposit credited again by staff"
    DEPOSIT_REJECTED = "deposit_rejected", "Held deposit rejected by staff"


class AuditEvent(models.Model):
    """One security-relevant action. Append-only: the database refuses updates and deletes."""

    action = models.CharField(max_length=32, choices=AuditAction.choices, db_index=True)
    # Whose account it concerns (null: a failed sign-in for an unknown name).
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events")
    # Who did it, when that is someone else (staff deciding on the user's verification, say).
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.user_id or ''}"
