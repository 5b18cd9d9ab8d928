"""Test files and verified users for KYC tests."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import User
from accounts.roles import setup_roles
from accounts.tests.factories import UserFactory

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
PDF_WITH_JAVASCRIPT = PDF.replace(
    b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"
)


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, kind)
    return buffer.getvalue()


def upload(name: str = "id.png", content: bytes | None = None, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes() if content is None else content, content_type=content_type)


DETAILS: dict[str, Any] = {
    "full_name": "Ada Lovelace",
    "date_of_birth": date(1990, 12, 10),
    "country": "GB",
    "address": "12 St James's Square, London SW1Y 4JH",
}


def staff_user(role: str, **kwargs: Any) -> User:
    """A staff member in one of the role groups (Compliance, Treasury, Support)."""
    from django.contrib.auth.models import Group

    setup_roles()
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh: no stale permission cache


def verified_user(level: int = 1, **kwargs: Any) -> User:
    """A trader whose verifications up to `level` were approved by a compliance officer."""
    from kyc import services
    from kyc.models import DocumentType

    user = UserFactory(**kwargs)
    officer = staff_user("Compliance")
    services.submit_details(user=user, **DETAILS)
    services.upload_document(user=user, document_type=DocumentType.PASSPORT, upload=upload())
    services.upload_document(user=user, document_type=DocumentType.SELFIE, upload=upload("me.jpg", image_bytes("JPEG")))
    verification = services.submit_verification(user=user)
    services.approve_verification(verification_id=verification.pk, staff=officer)
    if level >= 2:
        services.upload_document(
            user=user, document_type=DocumentType.PROOF_OF_ADDRESS, upload=upload("bill.pdf", PDF, "application/pdf")
        )
        verification = services.submit_verification(user=user)
        services.approve_verification(verification_id=verification.pk, staff=officer)
    user.refresh_from_db()
    return user
