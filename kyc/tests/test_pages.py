"""The verification page: details, documents, submission, and what the user sees after a decision."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from kyc import services
from kyc.models import Document, Verification
from kyc.tests.factories import DETAILS, PDF, image_bytes, staff_user, upload, verified_user

pytestmark = pytest.mark.django_db

FORM = {**DETAILS, "date_of_birth": DETAILS["date_of_birth"].isoformat()}


def test_needs_login(client):
    assert client.get("/kyc")["Location"] == "/login?next=/kyc"


def test_level_0_to_pending_through_the_pages(client):
    user = UserFactory()
    client.force_login(user)
    page = client.get("/kyc").content.decode()
    assert "Your identity details" in page
    assert "Not verified" in page

    assert client.post("/kyc/details", FORM)["Location"] == "/kyc"
    page = client.get("/kyc").content.decode()
    assert "Still needed: an identity document (passport or identity card); a selfie." in page
    assert client.post("/kyc/documents", {"document_type": "passport", "file": upload()})["Location"] == "/kyc"
    client.post("/kyc/documents", {"document_type": "selfie", "file": upload("me.jpg", image_bytes("JPEG"))})
    assert client.post("/kyc/submit")["Location"] == "/kyc"
    page = client.get("/kyc").content.decode()
    assert "under review since" in page
    assert "Your identity details" not in page  # a pending verification cannot be edited
    assert Verification.objects.get(user=user).status == "pending"


def test_bad_details_show_errors_on_the_form(client):
    client.force_login(UserFactory())
    response = client.post("/kyc/details", {**FORM, "date_of_birth": "2020-01-01"})
    assert response.status_code == 200
    assert "You must be at least 18 years old." in response.content.decode()
    assert not Verification.objects.exists()


def test_a_bad_file_shows_an_error_and_stores_nothing(client):
    client.force_login(UserFactory())
    client.post("/kyc/details", FORM)
    response = client.post("/kyc/documents", {"document_type": "passport", "file": upload("x.png", b"MZ" * 300)})
    assert response.status_code == 200
    assert "Only JPEG, PNG and PDF files are accepted." in response.content.decode()
    assert not Document.objects.exists()


def test_submitting_too_early_says_what_is_missing(client):
    client.force_login(UserFactory())
    client.post("/kyc/details", FORM)
    response = client.post("/kyc/submit", follow=True)
    assert "Some documents are missing" in response.content.decode()


def test_a_rejection_shows_its_reason_and_offers_to_resubmit(client):
    user = UserFactory()
    services.submit_details(user=user, **DETAILS)
    services.upload_document(user=user, document_type="passport", upload=upload())
    services.upload_document(user=user, document_type="selfie", upload=upload("s.jpg", image_bytes("JPEG")))
    verification = services.submit_verification(user=user)
    services.reject_verification(verification_id=verification.pk, staff=staff_user("Compliance"), reason="Blurry.")
    client.force_login(user)
    page = client.get("/kyc").content.decode()
    assert "Reason: Blurry." in page
    assert "Your identity details" in page
    assert DETAILS["full_name"] in page  # prefilled from the rejected attempt


def test_level_1_is_offered_level_2(client):
    user = verified_user(level=1)
    client.force_login(user)
    page = client.get("/kyc").content.decode()
    assert "Level 2: proof of address" in page
    client.post(
        "/kyc/documents", {"document_type": "proof_of_address", "file": upload("b.pdf", PDF, "application/pdf")}
    )
    client.post("/kyc/submit")
    assert Verification.objects.get(user=user, level=2).status == "pending"


def test_level_2_is_fully_verified(client):
    client.force_login(verified_user(level=2))
    page = client.get("/kyc").content.decode()
    assert "fully verified" in page
    assert "Verified plus" in page


def test_the_decision_reaches_the_account_page(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = verified_user(level=1)
    client.force_login(user)
    page = client.get("/").content.decode()
    assert "You are verified: level 1" in page
    assert "Level 1" in page
