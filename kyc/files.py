"""Serving a stored KYC document (to pages, the admin's previews and the API alike)."""

from __future__ import annotations

from django.http import FileResponse

from kyc.models import Document


def document_file_response(document: Document) -> FileResponse:
    """Serve a stored document with headers that keep a browser from running anything in it."""
    is_pdf = document.content_type == "application/pdf"
    extension = {"image/jpeg": "jpg", "image/png": "png"}.get(document.content_type, "pdf")
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=is_pdf,  # a PDF is downloaded, never rendered inline
        filename=f"{document.document_type}-{document.pk}.{extension}",
    )
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
