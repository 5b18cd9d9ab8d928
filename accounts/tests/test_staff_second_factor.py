"""Staff powers need a second factor (issue 13, point 4).

Every staff endpoint (/api/kyc/admin/*, /api/admin/*, another user's KYC document) takes a session that
django-otp verified, or a JWT issued by a login that passed a code; a password alone gets 403
`staff_2fa_required`, whatever the credential.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_api_auth import assert_error, login
from conftest import api_signed_in_with_2fa, signed_in_with_2fa
from kyc import services as kyc_services
from kyc.models import Document, DocumentType, Verification, VerificationDecision
from kyc.tests.factories import DETAILS, image_bytes, staff_user, upload
from wallets import treasury
from wallets.models import ColdWallet, ColdWalletTransfer, ColdWalletTransferStatus
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending() -> Verification:
    user = UserFactory()
    kyc_services.submit_details(user=user, **DETAILS)
    kyc_services.upload_document(user=user, document_type=DocumentType.PASSPORT, upload=upload())
    kyc_services.upload_document(
        user=user, document_type=DocumentType.SELFIE, upload=upload("me.jpg", image_bytes("JPEG"))
    )
    return kyc_services.submit_verification(user=user)


@pytest.fixture
def usdt() -> Any:
    asset = make_asset("USDT")
    ColdWallet.objects.create(asset=asset, address="simusdtcold0000000000000000")
    fund(UserFactory().pk, asset, "10000")
    return asset


def token_client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def password_only(user: Any) -> APIClient:
    """Sign in through the API with the password alone (the account has no 2FA)."""
    response = login(APIClient(), user.username)
    assert response.status_code == 200, response.content
    return token_client(response.json()["access"])


def kyc_staff_requests(verification: Verification) -> list[tuple[str, str, dict[str, Any]]]:
    document = verification.documents.get(document_type=DocumentType.PASSPORT)
    return [
        ("get", "/api/kyc/admin/pending", {}),
        ("post", f"/api/kyc/admin/{verification.pk}/approve", {}),
        ("post", f"/api/kyc/admin/{verification.pk}/reject", {"reason": "Blurred."}),
        ("get", f"/api/kyc/documents/{document.pk}/file", {}),
    ]


def treasury_requests(transfer: ColdWalletTransfer) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("get", "/api/admin/wallets", {}),
        ("get", "/api/admin/cold-wallets", {}),
        ("get", "/api/admin/cold-transfers", {}),
        ("post", "/api/admin/cold-transfers", {"asset": "USDT", "direction": "to_cold", "amount": "100"}),
        ("post", f"/api/admin/cold-transfers/{transfer.pk}/approve", {}),
        ("post", f"/api/admin/cold-transfers/{transfer.pk}/execute", {}),
    ]


class TestAPasswordAloneIsRefused:
    def test_compliance_can_neither_decide_nor_read_documents(self, pending: Verification) -> None:
        # Given a compliance officer signed in through the API with the password alone
        client = password_only(staff_user("Compliance"))
        # When they use every compliance endpoint, then each says a second factor is required
        for method, path, body in kyc_staff_requests(pending):
            response = getattr(client, method)(path, body, format="json")
            error = assert_error(response, 403, "staff_2fa_required")
            assert error["details"] == {"two_factor_enabled": False}, path
        pending.refresh_from_db()
        assert pending.status == "pending"
        assert not VerificationDecision.objects.exists()

    def test_treasury_can_neither_look_nor_move_funds(self, usdt: Any) -> None:
        transfer = treasury.request_transfer(
            asset=usdt, direction="to_cold", amount=Decimal("8000"), staff=None, automatic=True
        )
        client = password_only(staff_user("Treasury"))
        for method, path, body in treasury_requests(transfer):
            assert_error(getattr(client, method)(path, body, format="json"), 403, "staff_2fa_required")
        transfer.refresh_from_db()
        assert transfer.status == ColdWalletTransferStatus.REQUESTED
        assert ColdWalletTransfer.objects.count() == 1

    def test_a_token_issued_without_a_code_is_refused_though_2fa_is_on(self, pending: Verification) -> None:
        # Given an officer with 2FA on, holding a token that no code went into (issued before 2FA was on)
        officer = staff_user("Compliance")
        old_token = password_only(officer)
        api_signed_in_with_2fa(officer)  # turns 2FA on
        # Then that token stays a password-only one
        error = assert_error(old_token.get("/api/kyc/admin/pending"), 403, "staff_2fa_required")
        assert error["details"] == {"two_factor_enabled": True}
        assert_error(token_client(services.issue_tokens(user=officer).access).get("/api/kyc/admin/pending"), 403,
                     "staff_2fa_required")  # fmt: skip

    def test_a_session_signed_in_without_a_code_is_refused(self, client: Any, pending: Verification) -> None:
        officer = staff_user("Compliance")
        client.post("/login", {"username": officer.username, "password": PASSWORD})  # no 2FA: one step
        assert client.get("/api/auth/me").json()["username"] == officer.username
        document = pending.documents.get(document_type=DocumentType.PASSPORT)
        assert_error(client.get("/api/kyc/admin/pending"), 403, "staff_2fa_required")
        assert_error(client.get(f"/api/kyc/documents/{document.pk}/file"), 403, "staff_2fa_required")
        assert client.get(f"/kyc/documents/{document.pk}").status_code == 403  # the page

    def test_others_are_refused_as_before(self, pending: Verification) -> None:
        # Staff of another role, and traders, learn nothing new: the role is checked first.
        for user in (UserFactory(), staff_user("Treasury"), staff_user("Support")):
            assert_error(password_only(user).get("/api/kyc/admin/pending"), 403, "permission_denied")
            document = pending.documents.get(document_type=DocumentType.PASSPORT)
            assert_error(password_only(user).get(f"/api/kyc/documents/{document.pk}/file"), 404, "not_found")


class TestASecondFactorOpensThem:
    def test_a_login_with_a_code_decides_and_reads_documents(self, pending: Verification) -> None:
        officer = staff_user("Compliance")
        client = api_signed_in_with_2fa(officer)
        assert client.get("/api/kyc/admin/pending").json()["count"] == 1
        document = pending.documents.get(document_type=DocumentType.PASSPORT)
        assert client.get(f"/api/kyc/documents/{document.pk}/file").status_code == 200
        assert client.post(f"/api/kyc/admin/{pending.pk}/approve").json()["status"] == "approved"

    def test_treasury_with_a_code_moves_funds(self, usdt: Any) -> None:
        client = api_signed_in_with_2fa(staff_user("Treasury"))
        created = client.post("/api/admin/cold-transfers", {"asset": "USDT", "direction": "to_cold", "amount": "8000"},
                              format="json")  # fmt: skip
        assert created.status_code == 201, created.content
        assert client.post(f"/api/admin/cold-transfers/{created.json()['id']}/execute").json()["status"] == "in_transit"

    def test_the_token_says_so_and_a_refresh_keeps_it(self, pending: Verification) -> None:
        officer = staff_user("Compliance")
        api_signed_in_with_2fa(officer)  # 2FA on
        code = StaticToken.random_token()
        StaticToken.objects.create(device=StaticDevice.objects.get(user=officer), token=code)
        pair = login(APIClient(), officer.username, otp=code).json()
        assert "otp" in AccessToken(pair["access"])["amr"]
        refreshed = APIClient().post("/api/auth/refresh", {"refresh": pair["refresh"]}, format="json").json()
        assert token_client(refreshed["access"]).get("/api/kyc/admin/pending").status_code == 200
        # A password-only login says nothing of the kind.
        assert "amr" not in AccessToken(services.issue_tokens(user=officer).access)

    def test_turning_2fa_off_takes_it_away(self, pending: Verification) -> None:
        officer = staff_user("Compliance")
        client = api_signed_in_with_2fa(officer)
        code = StaticToken.random_token()
        StaticToken.objects.create(device=StaticDevice.objects.get(user=officer), token=code)
        services.disable_two_factor(user=officer, code=code)
        assert_error(client.get("/api/kyc/admin/pending"), 403, "staff_2fa_required")

    def test_a_session_verified_by_django_otp(self, client: Any, pending: Verification) -> None:
        officer = staff_user("Compliance")
        signed_in_with_2fa(client, officer)
        document = pending.documents.get(document_type=DocumentType.PASSPORT)
        assert client.get("/api/kyc/admin/pending").json()["count"] == 1
        assert client.get(f"/api/kyc/documents/{document.pk}/file").status_code == 200
        assert client.get(f"/kyc/documents/{document.pk}").status_code == 200

    def test_owners_read_their_own_documents_with_a_password(self, pending: Verification) -> None:
        # Traders are no staff: their own documents need no second factor.
        owner = pending.user
        document = Document.objects.filter(user=owner).first()
        assert document is not None
        assert password_only(owner).get(f"/api/kyc/documents/{document.pk}/file").status_code == 200

    def test_an_api_key_never_reaches_them(self, pending: Verification) -> None:
        from apikeys.tests.test_api_keys import Signed

        officer = staff_user("Compliance")
        client = api_signed_in_with_2fa(officer)
        code = StaticToken.random_token()
        StaticToken.objects.create(device=StaticDevice.objects.get(user=officer), token=code)
        body = client.post("/api/api-keys", {"label": "bot", "scopes": ["read"], "otp": code}, format="json").json()
        signed = Signed(body["key"], body["secret"])
        assert_error(signed.get("/api/kyc/admin/pending"), 403, "not_for_api_keys")
        assert_error(signed.get("/api/admin/wallets"), 403, "not_for_api_keys")
