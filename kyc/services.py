"""Writes for KYC: details, documents, submission, and compliance decisions.

The pages, the API and the admin call these same functions. Files are written to storage outside
database transactions; a failed insert removes the file it wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django_countries import countries

from accounts import audit
from accounts.lock_objects import lock_user
from accounts.models import AuditAction, KycStatus, User
from exchange.core.errors import Conflict, Forbidden, ValidationFailed
from exchange.core.queue import enqueue_on_commit
from kyc import aml, selectors
from kyc.lock_objects import lock_verification
from kyc.models import (
    AmlEventKind,
    AmlFlag,
    DecisionOutcome,
    Document,
    DocumentType,
    FlagStatus,
    KycLevel,
    Verification,
    VerificationDecision,
    VerificationStatus,
)
from kyc.uploads import check_document_file

MAX_LEVEL = KycLevel.VERIFIED_PLUS
DOCUMENTS_BY_LEVEL = {
    KycLevel.VERIFIED: {DocumentType.PASSPORT, DocumentType.ID_CARD, DocumentType.SELFIE},
    KycLevel.VERIFIED_PLUS: {DocumentType.PROOF_OF_ADDRESS},
}


def _age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _validate_details(*, full_name: str, date_of_birth: date, country: str, address: str) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    full_name = " ".join(full_name.split())
    address = address.strip()
    country = country.strip().upper()
    if len(full_name) < 2 or len(full_name) > 200:
        errors["full_name"] = ["Enter your full name as it appears on your identity document."]
    today = timezone.localdate()
    age = _age_on(date_of_birth, today)
    if date_of_birth > today:
        errors["date_of_birth"] = ["The date of birth is in the future."]
    elif age < settings.KYC_MINIMUM_AGE:
        errors["date_of_birth"] = [f"You must be at least {settings.KYC_MINIMUM_AGE} years old."]
    elif age > 120:
        errors["date_of_birth"] = ["Check the date of birth."]
    if country not in countries:
        errors["country"] = ["Choose a country by its ISO 3166 code, such as DE or US."]
    if len(address) < 5 or len(address) > 500:
        errors["address"] = ["Enter your full residential address."]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], details=errors)
    return {"full_name": full_name, "country": country, "address": address}


def submit_details(*, user: User, full_name: str, date_of_birth: date, country: str, address: str) -> Verification:
    """Start (or edit) the user's draft verification for the next level with identity details."""
    cleaned = _validate_details(full_name=full_name, date_of_birth=date_of_birth, country=country, address=address)
    with transaction.atomic(durable=True):
        locked = lock_user(user_id=user.pk)
        if locked.kyc_level >= MAX_LEVEL:
            raise Conflict("Your account is fully verified.", details={"code": "kyc_complete"})
        verification = selectors.open_verification(user=locked)
        if verification is not None and verification.status == VerificationStatus.PENDING:
            raise Conflict("Your verification is being reviewed: it cannot be changed now.")
        if verification is None:
            verification = Verification(user=locked, level=locked.kyc_level + 1)
        for field, value in cleaned.items():
            setattr(verification, field, value)
        verification.date_of_birth = date_of_birth
        verification.save()
        return verification


def upload_document(*, user: User, document_type: str, upload: UploadedFile) -> Document:
    """Add a document to the user's draft; the file is checked by its content, then stored privately."""
    if document_type not in DocumentType.values:
        raise ValidationFailed(
            "Unknown document type.", details={"document_type": [f"One of: {', '.join(DocumentType.values)}."]}
        )
    checked = check_document_file(upload)
    if document_type == DocumentType.SELFIE and checked.content_type == "application/pdf":
        raise ValidationFailed(
            "A selfie must be a photo (JPEG or PNG).", details={"file": ["A selfie must be a photo."]}
        )

    # Check the draft first (cheap, no I/O), write the file, then record it; undo the file on failure.
    _draft_for_document(user=User.objects.get(pk=user.pk), document_type=document_type)
    storage_name = f"{uuid.uuid4().hex}.{checked.extension}"
    stored_path = default_storage.save(f"kyc/{user.pk}/{storage_name}", upload)
    try:
        with transaction.atomic(durable=True):
            locked = lock_user(user_id=user.pk)
            verification = _draft_for_document(user=locked, document_type=document_type) or _start_level_two_draft(
                user=locked
            )
            replaced = list(verification.documents.filter(document_type=document_type))
            document = Document.objects.create(
                verification=verification,
                user=user,
                document_type=document_type,
                file=stored_path,
                storage_name=storage_name,
                content_type=checked.content_type,
                size=checked.size,
                sha256=checked.sha256,
                width=checked.width,
                height=checked.height,
            )
            for old in replaced:  # a new upload of the same type replaces the draft's old one
                old.delete()
                transaction.on_commit(partial(default_storage.delete, old.file.name))
    except BaseException:
        default_storage.delete(stored_path)
        raise
    return document


def _draft_for_document(*, user: User, document_type: str) -> Verification | None:
    """Return the draft a document of this type goes into, or raise why it cannot be taken.

    None means the document is welcome but starts a new level-2 draft (a level-1 user's proof of
    address).
    """
    verification = selectors.open_verification(user=user)
    if verification is not None and verification.status == VerificationStatus.PENDING:
        raise Conflict("Your verification is being reviewed: it cannot be changed now.")
    if verification is None:
        if user.kyc_level >= MAX_LEVEL:
            raise Conflict("Your account is fully verified.", details={"code": "kyc_complete"})
        if user.kyc_level != KycLevel.VERIFIED:
            raise Conflict("Submit your identity details first.", details={"code": "details_required"})
    level = KycLevel(verification.level if verification else KycLevel.VERIFIED_PLUS)
    allowed = DOCUMENTS_BY_LEVEL[level]
    if document_type not in allowed:
        names = ", ".join(sorted(DocumentType(t).label.lower() for t in allowed))
        raise ValidationFailed(
            f"Level {level} takes: {names}.", details={"document_type": ["Not needed for this level."]}
        )
    return verification


def _start_level_two_draft(*, user: User) -> Verification:
    """Begin a level-2 draft with the details of the user's approved level-1 verification."""
    approved = (
        Verification.objects.filter(user=user, status=VerificationStatus.APPROVED).order_by("-decided_at").first()
    )
    if approved is None:
        raise Conflict("Submit your identity details first.", details={"code": "details_required"})
    return Verification.objects.create(
        user=user,
        level=KycLevel.VERIFIED_PLUS,
        full_name=approved.full_name,
        date_of_birth=approved.date_of_birth,
        country=approved.country,
        address=approved.address,
    )


def submit_verification(*, user: User) -> Verification:
    """Send the draft to compliance; from now on it cannot be changed."""
    with transaction.atomic(durable=True):
        locked = lock_user(user_id=user.pk)
        verification = selectors.open_verification(user=locked)
        if verification is None:
            raise Conflict(
                "There is nothing to submit: enter your details first.", details={"code": "details_required"}
            )
        if verification.status == VerificationStatus.PENDING:
            raise Conflict("Your verification is already being reviewed.")
        missing = selectors.missing_documents(verification)
        if missing:
            raise ValidationFailed(
                "Some documents are missing: " + "; ".join(missing) + ".", details={"documents": missing}
            )
        verification.status = VerificationStatus.PENDING
        verification.submitted_at = timezone.now()
        verification.save(update_fields=["status", "submitted_at"])
        locked.kyc_status = KycStatus.PENDING
        locked.save(update_fields=["kyc_status"])
        aml.record_event(user_id=locked.pk, kind=AmlEventKind.VERIFICATION_SUBMITTED, reference=str(verification.pk))
        return verification


def _decide(*, verification_id: int, staff: User) -> tuple[Verification, User]:
    if not staff.has_perm("kyc.review_verification"):
        raise Forbidden("Only compliance staff can decide verifications.")
    verification = lock_verification(verification_id=verification_id)
    if verification.status != VerificationStatus.PENDING:
        raise Conflict(f"This verification is {verification.get_status_display().lower()}: it was decided already.")
    if verification.user_id == staff.pk:
        raise Forbidden("Nobody decides their own verification.")
    return verification, lock_user(user_id=verification.user_id)


def approve_verification(*, verification_id: int, staff: User, channel: str = "api") -> Verification:
    """Approve a pending verification: the user reaches its level."""
    with transaction.atomic(durable=True):
        verification, user = _decide(verification_id=verification_id, staff=staff)
        now = timezone.now()
        verification.status = VerificationStatus.APPROVED
        verification.decided_at = now
        verification.decided_by = staff
        verification.save(update_fields=["status", "decided_at", "decided_by"])
        user.kyc_level = max(user.kyc_level, verification.level)
        user.kyc_status = KycStatus.APPROVED
        user.save(update_fields=["kyc_level", "kyc_status"])
        VerificationDecision.objects.create(
            verification=verification, outcome=DecisionOutcome.APPROVED, decided_by=staff, channel=channel
        )
        audit.record(AuditAction.KYC_APPROVED, user=user, actor=staff, verification=verification.pk)
        enqueue_on_commit("kyc.tasks.notify_verification_decided", verification.pk)
    return verification


def reject_verification(*, verification_id: int, staff: User, reason: str, channel: str = "api") -> Verification:
    """Reject a pending verification with a reason the user will read; they may submit again."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Give the reason: the user sees it.", details={"reason": ["This field is required."]})
    with transaction.atomic(durable=True):
        verification, user = _decide(verification_id=verification_id, staff=staff)
        verification.status = VerificationStatus.REJECTED
        verification.decided_at = timezone.now()
        verification.decided_by = staff
        verification.rejection_reason = reason
        verification.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason"])
        user.kyc_status = KycStatus.REJECTED
        user.save(update_fields=["kyc_status"])
        VerificationDecision.objects.create(
            verification=verification,
            outcome=DecisionOutcome.REJECTED,
            reason=reason,
            decided_by=staff,
            channel=channel,
        )
        audit.record(AuditAction.KYC_REJECTED, user=user, actor=staff, verification=verification.pk, reason=reason)
        enqueue_on_commit("kyc.tasks.notify_verification_decided", verification.pk)
    return verification


def review_aml_flags(*, flag_ids: Sequence[int], staff: User, status: str) -> int:
    """Close open AML flags as cleared or escalated; return how many were open and now are not."""
    if not staff.has_perm("kyc.change_amlflag"):
        raise Forbidden("Only compliance staff can review AML flags.")
    if status not in {FlagStatus.CLEARED, FlagStatus.ESCALATED}:
        raise ValidationFailed("A flag is reviewed as cleared or escalated.")
    with transaction.atomic(durable=True):
        return AmlFlag.objects.filter(pk__in=flag_ids, status=FlagStatus.OPEN).update(
            status=status, reviewed_by=staff, reviewed_at=timezone.now()
        )
