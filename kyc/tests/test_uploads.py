"""Documents are judged by their bytes: what is not really JPEG, PNG or PDF is refused."""

from __future__ import annotations

import pytest

from exchange.core.errors import ValidationFailed
from kyc.tests.factories import PDF, PDF_WITH_JAVASCRIPT, image_bytes, upload
from kyc.uploads import check_document_file


def test_a_png_is_accepted_with_its_size():
    checked = check_document_file(upload("scan.png", image_bytes("PNG", (640, 480))))
    assert (checked.content_type, checked.extension, checked.width, checked.height) == ("image/png", "png", 640, 480)
    assert len(checked.sha256) == 64


def test_a_jpeg_is_accepted_whatever_its_name():
    checked = check_document_file(upload("passport.pdf", image_bytes("JPEG"), "application/pdf"))
    assert checked.content_type == "image/jpeg"


def test_a_pdf_is_accepted_even_with_javascript_inside():
    assert check_document_file(upload("bill.pdf", PDF, "application/pdf")).content_type == "application/pdf"
    assert check_document_file(upload("bill.pdf", PDF_WITH_JAVASCRIPT, "application/pdf")).extension == "pdf"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"MZ\x90\x00" + b"\x00" * 400, "Only JPEG, PNG and PDF"),  # a Windows executable named .png
        (b"\x7fELF" + b"\x00" * 400, "Only JPEG, PNG and PDF"),
        (image_bytes("GIF"), "Only JPEG, PNG and PDF"),
        (b"<html><script>alert(1)</script></html>", "Only JPEG, PNG and PDF"),
        (image_bytes("PNG")[:200], "damaged"),  # truncated
        (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "damaged"),
        (b"%PDF-1.7\n just a header, no end", "PDF is damaged"),
        (b"", "empty"),
    ],
)
def test_anything_else_is_refused(content, message):
    with pytest.raises(ValidationFailed) as refused:
        check_document_file(upload("innocent.png", content))
    assert message in refused.value.message
    assert refused.value.details == {"file": [refused.value.message]}


def test_an_oversize_file_is_refused(settings):
    settings.KYC_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    big = image_bytes("PNG") + b"\x00" * (2 * 1024 * 1024)
    with pytest.raises(ValidationFailed, match="too large: at most 2 MB"):
        check_document_file(upload("big.png", big))


def test_an_image_beyond_the_dimension_limit_is_refused(settings):
    settings.KYC_MAX_IMAGE_SIDE = 1000
    with pytest.raises(ValidationFailed, match="at most 1000 x 1000 pixels"):
        check_document_file(upload("wide.png", image_bytes("PNG", (1200, 200))))


def test_a_tiny_image_is_refused():
    with pytest.raises(ValidationFailed, match="too small"):
        check_document_file(upload("dot.png", image_bytes("PNG", (20, 20))))
