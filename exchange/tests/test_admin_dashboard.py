"""The admin's first page: an operations dashboard, and only the models each staff role works with."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.roles import ROLES
from accounts.tests.factories import UserFactory
from conftest import signed_in_with_2fa
from exchange.admin_site import SECTIONS
from kyc import services as kyc_services
from kyc.models import AmlFlag, Verification
from kyc.tests.factories import DETAILS, image_bytes, staff_user, upload
from wallets.models import ColdWallet, Withdrawal, WithdrawalStatus
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db


def submitted_verification(username: str, days_ago: int) -> Verification:
    trader = UserFactory(username=username)
    kyc_services.submit_details(user=trader, **DETAILS)
    kyc_services.upload_document(user=trader, document_type="passport", upload=upload())
    kyc_services.upload_document(user=trader, document_type="selfie", upload=upload("s.jpg", image_bytes("JPEG")))
    verification = kyc_services.submit_verification(user=trader)
    Verification.objects.filter(pk=verification.pk).update(submitted_at=timezone.now() - timedelta(days=days_ago))
    return verification


def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def model_links(response) -> set[str]:
    """The admin_url of every model the page's model list offers."""
    return {model["admin_url"] for section in response.context["app_list"] for model in section["models"]}


class TestTheModelList:
    def test_compliance_sees_kyc_aml_withdrawals_and_the_audit_log_only(self, client):
        signed_in_with_2fa(client, staff_user("Compliance"))
        response = client.get("/admin/")
        assert [section["name"] for section in response.context["app_list"]] == ["Compliance", "Users"]
        links = model_links(response)
        assert {"/admin/kyc/verification/", "/admin/kyc/amlflag/", "/admin/accounts/auditevent/",
                "/admin/wallets/withdrawal/"} <= links  # fmt: skip
        assert not {link for link in links if link.startswith(("/admin/otp_", "/admin/token_blacklist/"))}
        assert "/admin/wallets/coldwallettransfer/" not in links

    def test_treasury_sees_the_wallets_only(self, client):
        signed_in_with_2fa(client, staff_user("Treasury"))
        response = client.get("/admin/")
        links = model_links(response)
        assert {"/admin/wallets/asset/", "/admin/wallets/coldwallettransfer/", "/admin/wallets/ledgeraccount/"} <= links
        assert all(link.startswith("/admin/wallets/") for link in links), links
        assert [section["name"] for section in response.context["app_list"]] == ["Treasury"]

    def test_the_superuser_sees_everything_with_the_system_models_last(self, client):
        signed_in_with_2fa(client, superuser())
        sections = client.get("/admin/").context["app_list"]
        names = [section["name"] for section in sections]
        assert names[:2] == ["Compliance", "Treasury"]
        assert names[-1] == "System"
        system = {model["admin_url"] for model in sections[-1]["models"]}
        assert any(link.startswith("/admin/otp_totp/") for link in system)
        assert any(link.startswith("/admin/token_blacklist/") for link in system)

    def test_every_section_names_real_roles(self):
        for section in SECTIONS:
            assert set(section.roles) <= set(ROLES), section.name


class TestTheDashboard:
    def test_compliance_sees_its_queues_oldest_first(self, client):
        newer = submitted_verification("newer", days_ago=1)
        older = submitted_verification("older", days_ago=3)
        flagged = UserFactory(username="flagged")
        AmlFlag.objects.create(user=flagged, rule="structuring", severity="high", summary="Nine deposits just under",
                               fingerprint="f")  # fmt: skip
        signed_in_with_2fa(client, staff_user("Compliance"))
        response = client.get("/admin/")
        dashboard = response.context["dashboard"]
        assert [v.pk for v in dashboard.pending_kyc.rows] == [older.pk, newer.pk]
        assert [f.user for f in dashboard.open_flags.rows] == [flagged]
        text = response.content.decode()
        for panel in ("Pending KYC", "Open AML flags", "Withdrawals held for review"):
            assert panel in text
        assert text.index(">older<") < text.index(">newer<")
        assert "Nine deposits just under" in text
        # Treasury's panels are not compliance's work.
        assert dashboard.hot_wallets is None
        assert dashboard.ledger_audit is None
        assert "Hot wallets outside their band" not in text

    def test_treasury_sees_hot_wallets_outside_their_band_stuck_withdrawals_and_the_last_audit(self, client):
        usdt = make_asset("USDT")
        ColdWallet.objects.create(asset=usdt, address="simusdtcold0000000000000000")
        trader = UserFactory(username="payee")
        fund(trader.pk, usdt, "10000")  # hot 10000, band 500 to 2000: above the ceiling
        stuck = Withdrawal.objects.create(user=trader, asset=usdt, amount=Decimal("50"), fee=Decimal("1"),
                                          address="0xabc", status=WithdrawalStatus.PROCESSING)  # fmt: skip
        fresh = Withdrawal.objects.create(user=trader, asset=usdt, amount=Decimal("60"), fee=Decimal("1"),
                                          address="0xabd", status=WithdrawalStatus.PROCESSING)  # fmt: skip
        Withdrawal.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=3))
        signed_in_with_2fa(client, staff_user("Treasury"))

        response = client.get("/admin/")
        dashboard = response.context["dashboard"]
        assert [row.asset.code for row in dashboard.hot_wallets.rows] == ["USDT"]
        assert [row.withdrawal.pk for row in dashboard.stuck_withdrawals.rows] == [stuck.pk]
        assert fresh.pk not in [row.withdrawal.pk for row in dashboard.stuck_withdrawals.rows]
        text = response.content.decode()
        assert "10,000.000000" in text
        assert "above its ceiling of 2,000.000000" in text
        assert "No ledger audit has been recorded" in text
        assert dashboard.pending_kyc is None
        assert "Pending KYC" not in text

        call_command("audit_ledger", stdout=StringIO())
        assert "Ledger OK" in client.get("/admin/").content.decode()

    def test_a_broken_ledger_shows_on_the_dashboard(self, client):
        usdt = make_asset("USDT")
        fund(UserFactory().pk, usdt, "100")
        from wallets.models import AccountKind, LedgerAccount

        LedgerAccount.objects.filter(asset=usdt, kind=AccountKind.HOT_WALLET).update(balance=Decimal("99"))
        with pytest.raises(SystemExit):
            call_command("audit_ledger", stdout=StringIO(), stderr=StringIO())
        LedgerAccount.objects.filter(asset=usdt, kind=AccountKind.HOT_WALLET).update(balance=Decimal("100"))
        signed_in_with_2fa(client, staff_user("Treasury"))
        text = client.get("/admin/").content.decode()
        assert "Ledger BROKEN" in text
        assert "balance 99, postings say 100" in text

    def test_treasury_runs_the_audit_from_the_dashboard_and_compliance_cannot(self, client):
        make_asset("USDT")
        signed_in_with_2fa(client, staff_user("Compliance"))
        assert client.post("/admin/ledger-audit/").status_code == 403
        client.logout()
        signed_in_with_2fa(client, staff_user("Treasury"))
        response = client.post("/admin/ledger-audit/", follow=True)
        assert response.redirect_chain[-1][0] == "/admin/"
        assert response.context["dashboard"].ledger_audit.run.ok
        assert "Ledger OK" in response.content.decode()

    def test_the_superuser_sees_every_panel(self, client):
        signed_in_with_2fa(client, superuser())
        dashboard = client.get("/admin/").context["dashboard"]
        for panel in ("pending_kyc", "held_withdrawals", "open_flags", "hot_wallets", "stuck_withdrawals",
                      "ledger_audit"):  # fmt: skip
            assert getattr(dashboard, panel) is not None, panel


def test_beat_audits_the_ledger_every_hour_for_the_dashboard(settings, client):
    # Given beat's schedule
    entry = settings.CELERY_BEAT_SCHEDULE["audit-ledger"]
    assert entry["task"] == "wallets.tasks.audit_ledger"
    from wallets.tasks import audit_ledger

    # When its job runs (through Celery, eagerly here) on a ledger that holds
    usdt = make_asset("USDT")
    fund(UserFactory().pk, usdt, "100")
    assert audit_ledger.delay().get() is True
    # Then the dashboard shows its result
    signed_in_with_2fa(client, staff_user("Treasury"))
    text = client.get("/admin/").content.decode()
    assert "Ledger OK" in text
    assert "beat: hourly audit" in text
