"""Know-your-customer verifications, their private documents, level limits, and AML flags."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField


class KycLevel(models.IntegerChoices):
    REGISTERED = 0, "Registered"
    VERIFIED = 1, "Verified"
    VERIFIED_PLUS = 2, "Verified plus"


class LevelLimit(models.Model):
    """What a verification level allows. Data, edited by compliance in the admin."""

    level = models.PositiveSmallIntegerField(choices=KycLevel.choices, unique=True)
    can_deposit = models.BooleanField(default=True)
    can_trade = models.BooleanField(default=False)
    can_withdraw = models.BooleanField(default=False)
    # Rolling 24 h, valued in USDT; the withdrawal issue enforces it.
    daily_withdrawal_limit = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    # Withdrawals above this value wait for manual review.
    review_threshold = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["level"]
        constraints = [
            models.CheckConstraint(condition=Q(daily_withdrawal_limit__gte=0), name="kyc_limit_nonnegative"),
            models.CheckConstraint(condition=Q(review_threshold__gte=0), name="kyc_review_threshold_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"Level {self.level} ({self.get_level_display()})"


class VerificationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Verification(models.Model):
    """One request to reach a level: details and documents, then one decision by compliance.

    A draft is filled in by the user; submitting makes it pending, and from then on it is frozen.
    After a rejection the user starts a new one (the rejected one stays as history).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="verifications")
    level = models.PositiveSmallIntegerField(choices=KycLevel.choices)
    status = models.CharField(max_length=16, choices=VerificationStatus.choices, default=VerificationStatus.DRAFT)
    full_name = models.CharField(max_length=200)
    date_of_birth = models.DateField()
    country = CountryField()
    address = models.TextField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rejection_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["submitted_at", "pk"]
        permissions = [("review_verification", "Can approve or reject verifications")]
        constraints = [
            # At most one open (draft or pending) verification per user.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["draft", "pending"]),
                name="kyc_one_open_verification_per_user",
            ),
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="kyc_verification_level_1_or_2"),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="kyc_rejection_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return f"Verification #{self.pk} of {self.user} for level {self.level} ({self.status})"


class DocumentType(models.TextChoices):
    PASSPORT = "passport", "Passport"
    ID_CARD = "id_card", "Identity card"
    PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
    SELFIE = "selfie", "Selfie"


def document_path(instance: Document, filename: str) -> str:
    """Name a stored document: random, never the user's file name (which is ignored)."""
    return f"kyc/{instance.user_id}/{instance.storage_name}"


class Document(models.Model):
    """An uploaded identity document, stored privately and served only through checked views."""

    verification = models.ForeignKey(Verification, on_delete=models.PROTECT, related_name="documents")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="kyc_documents")
    document_type = models.CharField(max_length=32, choices=DocumentType.choices)
    file = models.FileField(upload_to=document_path, max_length=200)
    storage_name = models.CharField(max_length=80, unique=True)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} #{self.pk}"

    @property
    def is_image(self) -> bool:
        return self.content_type in {"image/jpeg", "image/png"}


class DecisionOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class VerificationDecision(models.Model):
    """An append-only record of each decision: who decided what, when and why."""

    verification = models.ForeignKey(Verification, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(max_length=16, choices=DecisionOutcome.choices)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)
    # Where it was decided: "admin" or "api".
    channel = models.CharField(max_length=16)

    class Meta:
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.outcome} by {self.decided_by} at {self.decided_at:%Y-%m-%d %H:%M}"


class SanctionsEntry(models.Model):
    """A name on a sanctions list, loaded from a CSV file by `load_sanctions_list`."""

    source = models.CharField(max_length=64)
    reference = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    # Lower case, accents removed, name parts sorted: "Doe, John" and "john DOE" match.
    normalized_name = models.CharField(max_length=300, db_index=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        verbose_name_plural = "sanctions entries"
        constraints = [models.UniqueConstraint(fields=["source", "reference"], name="kyc_sanctions_unique_ref")]

    def __str__(self) -> str:
        return f"{self.name} ({self.source} {self.reference})"


class AmlEventKind(models.TextChoices):
    VERIFICATION_SUBMITTED = "verification_submitted", "Verification submitted"
    DEPOSIT_CREDITED = "deposit_credited", "Deposit credited"
    WITHDRAWAL_REQUESTED = "withdrawal_requested", "Withdrawal requested"


class AmlEvent(models.Model):
    """An event the AML rules look at, recorded as it happened (valued in USDT when it is money)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=AmlEventKind.choices)
    asset = models.CharField(max_length=16, blank=True)
    amount = models.DecimalField(max_digits=36, decimal_places=18, null=True, blank=True)
    value_usdt = models.DecimalField(max_digits=24, decimal_places=2, null=True, blank=True)
    reference = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        verbose_name = "AML event"
        indexes = [models.Index(fields=["user", "kind", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.user} at {self.occurred_at:%Y-%m-%d %H:%M}"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLEARED = "cleared", "Cleared"
    ESCALATED = "escalated", "Escalated"


class FlagSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class AmlFlag(models.Model):
    """Something an AML rule found, waiting for a compliance officer's review."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="aml_flags")
    rule = models.CharField(max_length=64)
    severity = models.CharField(max_length=8, choices=FlagSeverity.choices)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    # Identifies what was flagged, so that re-running a rule never raises the same flag twice.
    fingerprint = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "AML flag"
        constraints = [
            models.UniqueConstraint(fields=["user", "rule", "fingerprint"], name="kyc_aml_flag_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.user} ({self.status})"
