"""The KYC API, from level 0 to level 2, and every way it refuses bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Notification, User
from accounts.services import issue_tokens
from accounts.tests.factories import UserFactory
from accounts.tests.test_api_auth import assert_error
from conftest import api_signed_in_with_2fa
from kyc.models import Document, Verification, VerificationDecision
from kyc.tests.factories import DETAILS, PDF, image_bytes, staff_user, upload

pytestmark = pytest.mark.django_db


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user).access}")
    return client


def details(**changes):
    return {**DETAILS, "date_of_birth": DETAILS["date_of_birth"].isoformat(), **changes}


def post_document(client: APIClient, document_type: str, file=None):
    return client.post(
        "/api/kyc/documents", {"document_type": document_type, "file": file or upload()}, format="multipart"
    )


@pytest.fixture
def trader(db) -> User:
    return UserFactory()


@pytest.fixture
def officer(db) -> User:
    return staff_user("Compliance")


def test_from_level_0_to_level_2(trader, officer, django_capture_on_commit_callbacks):
    me = client_for(trader)
    staff = api_signed_in_with_2fa(officer)  # staff endpoints take a login with a code

    # Level 1: details, an identity document and a selfie.
    response = me.post("/api/auth/kyc", details(), format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "draft"
    assert response.json()["level"] == 1
    assert response.json()["missing"] == ["an identity document (passport or identity card)", "a selfie"]
    assert post_document(me, "id_card").status_code == 201
    assert post_document(me, "selfie", upload("me.jpg", image_bytes("JPEG"), "image/jpeg")).status_code == 201
    response = me.post("/api/kyc/submit")
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert me.get("/api/auth/me").json()["kyc_status"] == "pending"

    # Compliance sees it in the queue and approves.
    queue = staff.get("/api/kyc/admin/pending").json()
    assert queue["count"] == 1
    verification_id = queue["results"][0]["id"]
    assert queue["results"][0]["username"] == trader.username
    assert len(queue["results"][0]["documents"]) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"/api/kyc/admin/{verification_id}/approve")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    me_now = me.get("/api/auth/me").json()
    assert (me_now["kyc_level"], me_now["kyc_status"]) == (1, "approved")
    # The user is told, in the app and by email.
    assert Notification.objects.get(user=trader).title == "You are verified: level 1"
    assert mail.outbox[-1].to == [trader.email]

    # Level 2: a proof of address, the details carried over.
    response = post_document(me, "proof_of_address", upload("bill.pdf", PDF, "application/pdf"))
    assert response.status_code == 201
    status = me.get("/api/kyc/verification").json()
    assert status["verification"]["level"] == 2
    assert status["verification"]["full_name"] == DETAILS["full_name"]
    assert me.post("/api/kyc/submit").status_code == 200
    level_two = Verification.objects.get(user=trader, level=2)
    assert staff.post(f"/api/kyc/admin/{level_two.pk}/approve").status_code == 200
    assert me.get("/api/auth/me").json()["kyc_level"] == 2
    # Fully verified: nothing more to submit.
    assert_error(me.post("/api/auth/kyc", details(), format="json"), 409, "conflict")
    assert VerificationDecision.objects.filter(verification__user=trader).count() == 2


def test_rejection_shows_its_reason_and_resubmission_works(trader, officer, django_capture_on_commit_callbacks):
    me, staff = client_for(trader), api_signed_in_with_2fa(officer)
    me.post("/api/auth/kyc", details(full_name="Ada Lovelaec"), format="json")
    post_document(me, "passport")
    post_document(me, "selfie")
    verification_id = me.post("/api/kyc/submit").json()["id"]

    assert_error(staff.post(f"/api/kyc/admin/{verification_id}/reject", {}, format="json"), 400, "validation_error")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            f"/api/kyc/admin/{verification_id}/reject", {"reason": "The name differs from the passport."}, format="json"
        )
    assert response.status_code == 200
    status = me.get("/api/kyc/verification").json()
    assert status["kyc_status"] == "rejected"
    assert status["verification"]["rejection_reason"] == "The name differs from the passport."
    assert "The name differs from the passport." in Notification.objects.get(user=trader).body
    decision = VerificationDecision.objects.get(verification_id=verification_id)
    assert (decision.outcome, decision.decided_by, decision.channel) == ("rejected", officer, "api")

    # Start again: a new draft, the rejected one kept as history.
    assert me.post("/api/auth/kyc", details(), format="json").status_code == 201
    post_document(me, "passport")
    post_document(me, "selfie")
    new_id = me.post("/api/kyc/submit").json()["id"]
    assert new_id != verification_id
    assert staff.post(f"/api/kyc/admin/{new_id}/approve").status_code == 200
    assert Verification.objects.filter(user=trader).count() == 2


class TestBadDetails:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"date_of_birth": (timezone.localdate() - timedelta(days=17 * 365)).isoformat()}, "date_of_birth"),
            ({"date_of_birth": (timezone.localdate() + timedelta(days=1)).isoformat()}, "date_of_birth"),
            ({"date_of_birth": "1890-01-01"}, "date_of_birth"),
            ({"date_of_birth": "not-a-date"}, "date_of_birth"),
            ({"country": "XX"}, "country"),
            ({"country": "Germany"}, "country"),
            ({"full_name": " "}, "full_name"),
            ({"address": ""}, "address"),
        ],
    )
    def test_are_refused_and_change_nothing(self, trader, changes, field):
        response = client_for(trader).post("/api/auth/kyc", details(**changes), format="json")
        error = assert_error(response, 400, "validation_error")
        assert field in error["details"]
        assert not Verification.objects.exists()

    def test_a_minor_is_told_why(self, trader):
        born = timezone.localdate().replace(year=timezone.localdate().year - 18) + timedelta(days=1)
        response = client_for(trader).post("/api/auth/kyc", details(date_of_birth=born.isoformat()), format="json")
        assert "at least 18 years old" in assert_error(response, 400, "validation_error")["message"]


class TestOutOfOrder:
    def test_documents_before_details(self, trader):
        assert_error(post_document(client_for(trader), "passport"), 409, "conflict")
        assert not Document.objects.exists()

    def test_submit_before_details(self, trader):
        assert_error(client_for(trader).post("/api/kyc/submit"), 409, "conflict")

    def test_submit_with_documents_missing(self, trader):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        post_document(me, "passport")
        error = assert_error(me.post("/api/kyc/submit"), 400, "validation_error")
        assert error["details"] == {"documents": ["a selfie"]}
        assert Verification.objects.get().status == "draft"

    def test_a_pending_submission_cannot_be_edited(self, trader):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        post_document(me, "passport")
        post_document(me, "selfie")
        me.post("/api/kyc/submit")
        assert_error(me.post("/api/auth/kyc", details(full_name="Someone Else"), format="json"), 409, "conflict")
        assert_error(post_document(me, "id_card"), 409, "conflict")
        assert_error(me.post("/api/kyc/submit"), 409, "conflict")
        assert Verification.objects.get().full_name == DETAILS["full_name"]
        assert Document.objects.count() == 2

    def test_a_document_the_level_does_not_take(self, trader):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        error = assert_error(post_document(me, "proof_of_address"), 400, "validation_error")
        assert "document_type" in error["details"]

    def test_an_unknown_document_type(self, trader):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        assert_error(post_document(me, "driving_licence"), 400, "validation_error")

    def test_a_selfie_must_be_a_photo(self, trader):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        assert_error(post_document(me, "selfie", upload("me.pdf", PDF, "application/pdf")), 400, "validation_error")


class TestUploads:
    def test_a_renamed_executable_is_refused_and_nothing_is_stored(self, trader):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        before = _stored_files()
        response = post_document(me, "passport", upload("passport.png", b"MZ" + b"\x90" * 500, "image/png"))
        assert assert_error(response, 400, "validation_error")["details"] == {
            "file": ["Only JPEG, PNG and PDF files are accepted."]
        }
        assert not Document.objects.exists()
        assert _stored_files() == before

    def test_the_users_file_name_is_never_used(self, trader):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        response = post_document(me, "passport", upload("../../../etc/passwd.png"))
        assert response.status_code == 201
        stored = Document.objects.get().file.name
        assert stored.startswith(f"kyc/{trader.pk}/")
        assert "passwd" not in stored
        assert ".." not in stored
        assert Path(default_storage.path(stored)).resolve().is_relative_to(Path(default_storage.location).resolve())

    def test_a_new_upload_of_the_same_type_replaces_the_old_one(self, trader, django_capture_on_commit_callbacks):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        post_document(me, "passport")
        old = Document.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            assert post_document(me, "passport").status_code == 201
        assert Document.objects.count() == 1
        assert not default_storage.exists(old.file.name)

    def test_documents_are_listed_for_their_owner_only(self, trader):
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        post_document(me, "passport")
        listing = me.get("/api/kyc/documents").json()
        assert listing["count"] == 1
        assert listing["results"][0]["document_type"] == "passport"
        assert client_for(UserFactory()).get("/api/kyc/documents").json()["count"] == 0


def _stored_files() -> set[str]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


class TestDocumentAccess:
    @pytest.fixture
    def document(self, trader) -> Document:
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        post_document(me, "passport", upload("p.png", image_bytes("PNG")))
        post_document(me, "id_card", upload("bill.pdf", PDF, "application/pdf"))
        return Document.objects.get(document_type="passport")

    def test_the_owner_reads_it_with_safe_headers(self, trader, document):
        response = client_for(trader).get(f"/api/kyc/documents/{document.pk}/file")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == image_bytes("PNG")
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "private, no-store"

    def test_a_pdf_is_always_a_download(self, trader, document):
        pdf = Document.objects.get(document_type="id_card")
        response = client_for(trader).get(f"/api/kyc/documents/{pdf.pk}/file")
        assert response["Content-Disposition"].startswith("attachment;")

    def test_compliance_reads_it(self, document):
        staff = api_signed_in_with_2fa(staff_user("Compliance"))
        assert staff.get(f"/api/kyc/documents/{document.pk}/file").status_code == 200

    @pytest.mark.parametrize("role", ["Support", "Treasury"])
    def test_other_staff_do_not(self, document, role):
        response = client_for(staff_user(role)).get(f"/api/kyc/documents/{document.pk}/file")
        assert_error(response, 404, "not_found")

    def test_another_user_gets_404_as_for_a_missing_one(self, document):
        other = client_for(UserFactory())
        assert_error(other.get(f"/api/kyc/documents/{document.pk}/file"), 404, "not_found")
        assert_error(other.get(f"/api/kyc/documents/{document.pk + 1000}/file"), 404, "not_found")

    def test_anonymous_gets_401(self, document):
        assert_error(APIClient().get(f"/api/kyc/documents/{document.pk}/file"), 401, "not_authenticated")

    def test_guessed_page_urls_give_nothing(self, client, document):
        other = UserFactory()
        client.force_login(other)
        assert client.get(f"/kyc/documents/{document.pk}").status_code == 404
        # The storage is not served under any public URL.
        for guess in (f"/media/{document.file.name}", f"/{document.file.name}", f"/var/private/{document.file.name}",
                      f"/static/../var/private/{document.file.name}"):  # fmt: skip
            assert client.get(guess).status_code == 404


class TestStaffEndpoints:
    @pytest.fixture
    def pending(self, trader) -> Verification:
        me = client_for(trader)
        me.post("/api/auth/kyc", details(), format="json")
        post_document(me, "passport")
        post_document(me, "selfie")
        me.post("/api/kyc/submit")
        return Verification.objects.get()

    @pytest.mark.parametrize("who", ["trader", "Treasury", "Support"])
    def test_are_forbidden_to_everyone_but_compliance(self, pending, trader, who):
        user = trader if who == "trader" else staff_user(who)
        client = client_for(user)
        assert_error(client.get("/api/kyc/admin/pending"), 403, "permission_denied")
        assert_error(client.post(f"/api/kyc/admin/{pending.pk}/approve"), 403, "permission_denied")
        assert_error(
            client.post(f"/api/kyc/admin/{pending.pk}/reject", {"reason": "x"}, format="json"), 403, "permission_denied"
        )
        pending.refresh_from_db()
        assert pending.status == "pending"

    def test_deciding_twice_is_a_conflict(self, pending, officer):
        staff = api_signed_in_with_2fa(officer)
        assert staff.post(f"/api/kyc/admin/{pending.pk}/approve").status_code == 200
        assert_error(staff.post(f"/api/kyc/admin/{pending.pk}/approve"), 409, "conflict")
        assert_error(staff.post(f"/api/kyc/admin/{pending.pk}/reject", {"reason": "x"}, format="json"), 409, "conflict")
        assert VerificationDecision.objects.count() == 1

    def test_a_draft_cannot_be_decided(self, trader, officer):
        me = client_for(trader)
        draft_id = me.post("/api/auth/kyc", details(), format="json").json()["id"]
        assert_error(api_signed_in_with_2fa(officer).post(f"/api/kyc/admin/{draft_id}/approve"), 409, "conflict")

    def test_an_unknown_verification_is_404(self, officer):
        assert_error(api_signed_in_with_2fa(officer).post("/api/kyc/admin/999999/approve"), 404, "not_found")

    def test_nobody_approves_their_own(self, officer):
        me = api_signed_in_with_2fa(officer)
        me.post("/api/auth/kyc", details(), format="json")
        post_document(me, "passport")
        post_document(me, "selfie")
        own = me.post("/api/kyc/submit").json()["id"]
        assert_error(me.post(f"/api/kyc/admin/{own}/approve"), 403, "permission_denied")
