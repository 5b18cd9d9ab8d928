"""Check an uploaded identity document by its bytes, never by its name or the browser's word.

Accepted: JPEG and PNG images that decode and are not absurdly large, and PDF files. Anything else,
whatever its name says, is refused before a byte is stored.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

from exchange.core.errors import ValidationFailed

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    extension: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"file": [message]})


def check_document_file(upload: UploadedFile) -> CheckedFile:
    """Return what the file really is, or raise ValidationFailed saying why it is refused."""
    size = upload.size or 0
    limit = settings.KYC_MAX_UPLOAD_BYTES
    if size == 0:
        raise _refuse("The file is empty.")
    if size > limit:
        raise _refuse(f"The file is too large: at most {limit // (1024 * 1024)} MB.")

    upload.seek(0)
    head = upload.read(16)
    if head.startswith((_PNG_MAGIC, _JPEG_MAGIC)):
        checked = _check_image(upload, size)
    elif head.startswith(_PDF_MAGIC):
        checked = _check_pdf(upload, size)
    else:
        raise _refuse("Only JPEG, PNG and PDF files are accepted.")
    upload.seek(0)
    return checked


def _sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    return digest.hexdigest()


def _check_image(upload: UploadedFile, size: int) -> CheckedFile:
    max_side = settings.KYC_MAX_IMAGE_SIDE
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # A decompression-bomb warning is an error here: such an image is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                kind = image.format
                width, height = image.size
                if kind not in {"JPEG", "PNG"}:
                    raise _refuse("Only JPEG, PNG and PDF files are accepted.")
                if width > max_side or height > max_side:
                    raise _refuse(f"The image is too large: at most {max_side} x {max_side} pixels.")
                if width < 100 or height < 100:
                    raise _refuse("The image is too small to read: at least 100 x 100 pixels.")
                image.verify()  # walks the whole file: a truncated or forged image fails here
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):  # fmt: skip
        raise _refuse("The image is damaged or not really an image.") from None
    content_type, extension = ("image/png", "png") if kind == "PNG" else ("image/jpeg", "jpg")
    return CheckedFile(content_type, extension, size, _sha256(upload), width, height)


def _check_pdf(upload: UploadedFile, size: int) -> CheckedFile:
    # A PDF ends with %%EOF (allowing trailing whitespace); a file that only starts like one is refused.
    upload.seek(max(0, size - 1024))
    tail = upload.read()
    if b"%%EOF" not in tail:
        raise _refuse("The PDF is damaged or incomplete.")
    return CheckedFile("application/pdf", "pdf", size, _sha256(upload))
