"""Reads for KYC."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from accounts.permissions import staff_two_factor_required
from exchange.core.errors import NotFound
from kyc.models import Document, DocumentType, KycLevel, Verification, VerificationStatus


def open_verification(*, user: User) -> Verification | None:
    """Return the user's draft or pending verification, if any."""
    return (
        Verification.objects.filter(user=user, status__in=[VerificationStatus.DRAFT, VerificationStatus.PENDING])
        .order_by("-pk")
        .first()
    )


def latest_verification(*, user: User) -> Verification | None:
    return Verification.objects.filter(user=user).order_by("-pk").first()


def missing_documents(verification: Verification) -> list[str]:
    """Return what the verification still lacks before it can be submitted, in words."""
    present = set(verification.documents.values_list("document_type", flat=True))
    missing = []
    if verification.level == KycLevel.VERIFIED:
        if not present & {DocumentType.PASSPORT, DocumentType.ID_CARD}:
            missing.append("an identity document (passport or identity card)")
        if DocumentType.SELFIE not in present:
            missing.append("a selfie")
    elif DocumentType.PROOF_OF_ADDRESS not in present:
        missing.append("a proof of address")
    return missing


def documents_of_user(*, user: User) -> QuerySet[Document]:
    return Document.objects.filter(user=user).select_related("verification").order_by("-uploaded_at", "-pk")


def access_document_by_id(*, user: User, document_id: int, second_factor: bool) -> Document:
    """Return a document its owner or compliance staff may read; anyone else gets NotFound.

    Staff read it only when their sign-in passed a second factor (`second_factor`, as
    accounts.permissions.second_factor_verified tells of the request); else StaffTwoFactorRequired.
    """
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        raise NotFound()
    if document.user_id == user.pk:
        return document
    if user.is_staff and user.has_perm("kyc.view_document"):
        if not second_factor:
            raise staff_two_factor_required(user)
        return document
    raise NotFound()  # not 403: whether the document exists is nobody else's business


def pending_verifications() -> QuerySet[Verification]:
    """Return the review queue, oldest submission first."""
    return (
        Verification.objects.filter(status=VerificationStatus.PENDING)
        .select_related("user")
        .prefetch_related("documents")
        .order_by("submitted_at", "pk")
    )
