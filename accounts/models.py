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
    # Set on password change and on 2FA being turned off: withdrawals stay locked for a while after.
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
