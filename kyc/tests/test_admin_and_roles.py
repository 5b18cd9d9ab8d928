"""The compliance console in the admin, and the separation of staff roles."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.management import call_command

from accounts.models import Notification
from accounts.roles import ROLES, setup_roles
from accounts.tests.factories import UserFactory
from conftest import signed_in_with_2fa
from exchange.core.errors import Forbidden
from kyc import services
from kyc.models import AmlFlag, FlagStatus, Verification, VerificationDecision
from kyc.tests.factories import DETAILS, image_bytes, staff_user, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending() -> Verification:
    trader = UserFactory()
    services.submit_details(user=trader, **DETAILS)
    services.upload_document(user=trader, document_type="passport", upload=upload())
    services.upload_document(user=trader, document_type="selfie", upload=upload("s.jpg", image_bytes("JPEG")))
    return services.submit_verification(user=trader)


class TestRoles:
    def test_setup_is_idempotent_and_exact(self):
        setup_roles()
        # A permission granted by hand is taken away again: the groups are exactly as declared.
        Group.objects.get(name="Compliance").permissions.add(Permission.objects.get(codename="delete_user"))
        call_command("setup_roles", stdout=StringIO())
        for name, perms in ROLES.items():
            group = Group.objects.get(name=name)
            have = {
                f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
            }
            assert have == set(perms), name
        assert Group.objects.filter(name__in=ROLES).count() == 3

    def test_compliance_cannot_touch_wallets_or_users(self):
        officer = staff_user("Compliance")
        perms = officer.get_all_permissions()
        # Reviewing a withdrawal held for AML review is compliance work; wallets are not.
        assert {p for p in perms if p.startswith("wallets.")} == {
            "wallets.review_withdrawal",
            "wallets.view_withdrawal",
        }
        assert "accounts.change_user" not in perms
        assert "accounts.view_user" in perms

    def test_treasury_and_support_cannot_decide_kyc(self, pending):
        for role in ("Treasury", "Support"):
            with pytest.raises(Forbidden):
                services.approve_verification(verification_id=pending.pk, staff=staff_user(role))
            with pytest.raises(Forbidden):
                services.reject_verification(verification_id=pending.pk, staff=staff_user(role), reason="no")
        pending.refresh_from_db()
        assert pending.status == "pending"


class TestAdminConsole:
    def test_the_queue_opens_on_pending_oldest_first(self, client, pending):
        later = Verification.objects.get(pk=pending.pk)
        signed_in_with_2fa(client, staff_user("Compliance"))
        response = client.get("/admin/kyc/verification/", follow=True)
        assert response.redirect_chain[-1][0].endswith("?status__exact=pending")
        assert list(response.context["cl"].queryset) == [later]

    def test_compliance_approves_with_a_button(self, client, pending, django_capture_on_commit_callbacks):
        officer = staff_user("Compliance")
        signed_in_with_2fa(client, officer)
        page = client.get(f"/admin/kyc/verification/{pending.pk}/change/")
        content = page.content.decode()
        assert "Approve…" in content
        assert f"/kyc/documents/{pending.documents.first().pk}" in content  # inline preview
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/admin/kyc/verification/{pending.pk}/approve/")
        assert response.status_code == 302
        pending.refresh_from_db()
        assert (pending.status, pending.decided_by) == ("approved", officer)
        assert pending.user.kyc_level == 1
        decision = VerificationDecision.objects.get(verification=pending)
        assert (decision.channel, decision.decided_by) == ("admin", officer)
        assert Notification.objects.filter(user=pending.user).exists()
        assert len(mail.outbox) == 1

    def test_compliance_rejects_with_a_reason(self, client, pending):
        signed_in_with_2fa(client, staff_user("Compliance"))
        form = client.get(f"/admin/kyc/verification/{pending.pk}/reject/")
        assert "Reason" in form.content.decode()
        assert client.post(f"/admin/kyc/verification/{pending.pk}/reject/", {"reason": ""}).status_code == 200
        pending.refresh_from_db()
        assert pending.status == "pending"
        response = client.post(f"/admin/kyc/verification/{pending.pk}/reject/", {"reason": "Blurred photo."})
        assert response.status_code == 302
        pending.refresh_from_db()
        assert (pending.status, pending.rejection_reason) == ("rejected", "Blurred photo.")

    def test_compliance_can_see_the_document_preview(self, client, pending):
        signed_in_with_2fa(client, staff_user("Compliance"))
        document = pending.documents.first()
        assert client.get(f"/kyc/documents/{document.pk}").status_code == 200

    @pytest.mark.parametrize("role", ["Treasury", "Support"])
    def test_other_staff_cannot_decide_in_the_admin(self, client, pending, role):
        signed_in_with_2fa(client, staff_user(role))
        response = client.post(f"/admin/kyc/verification/{pending.pk}/approve/")
        assert response.status_code == 403
        assert client.post(f"/admin/kyc/verification/{pending.pk}/reject/", {"reason": "x"}).status_code == 403
        pending.refresh_from_db()
        assert pending.status == "pending"
        assert "Approve…" not in client.get(f"/admin/kyc/verification/{pending.pk}/change/").content.decode()

    def test_support_views_but_sees_no_documents(self, client, pending):
        signed_in_with_2fa(client, staff_user("Support"))
        page = client.get(f"/admin/kyc/verification/{pending.pk}/change/")
        assert page.status_code == 200
        assert "/kyc/documents/" not in page.content.decode()
        assert client.get(f"/kyc/documents/{pending.documents.first().pk}").status_code == 404

    def test_treasury_cannot_open_verifications_at_all(self, client, pending):
        signed_in_with_2fa(client, staff_user("Treasury"))
        assert client.get(f"/admin/kyc/verification/{pending.pk}/change/").status_code == 403

    def test_an_admin_session_without_a_code_gets_nothing(self, client, pending):
        client.force_login(staff_user("Compliance"))
        response = client.post(f"/admin/kyc/verification/{pending.pk}/approve/")
        assert response.status_code == 302
        pending.refresh_from_db()
        assert pending.status == "pending"

    def test_aml_flags_are_reviewed_with_actions(self, client):
        officer = staff_user("Compliance")
        trader = UserFactory()
        flag = AmlFlag.objects.create(user=trader, rule="r", severity="high", summary="s", fingerprint="f")
        signed_in_with_2fa(client, officer)
        response = client.post(
            "/admin/kyc/amlflag/", {"action": "escalate_flags", "_selected_action": [flag.pk]}, follow=True
        )
        assert response.status_code == 200
        flag.refresh_from_db()
        assert (flag.status, flag.reviewed_by) == (FlagStatus.ESCALATED, officer)


def test_aml_events_show_amounts_at_the_assets_precision(client):
    from decimal import Decimal

    from django.utils import timezone

    from kyc.models import AmlEvent
    from wallets.tests.factories import make_asset

    make_asset("BTC")
    AmlEvent.objects.create(user=UserFactory(), kind="deposit_credited", asset="BTC", amount=Decimal("1250.5"),
                            value_usdt=Decimal("75030000"), occurred_at=timezone.now())  # fmt: skip
    signed_in_with_2fa(client, staff_user("Compliance"))
    text = client.get("/admin/kyc/amlevent/").content.decode()
    assert "1,250.50000000" in text
    assert "75,030,000.00" in text
    assert "1250.500000000000000000" not in text
