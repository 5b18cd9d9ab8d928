"""Treasury's two-person rules (issue 13, point 5).

Refills from cold: what one person moves alone is counted over a rolling 24 hours, across assets, so
splitting a large refill into small ones dodges nothing. Cold-wallet addresses: a change is a request
that a second, different staff member approves, each step in the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import UserFactory
from accounts.tests.test_api_auth import assert_error
from conftest import api_signed_in_with_2fa, race, signed_in_with_2fa
from exchange.core.errors import Conflict, Forbidden, ValidationFailed
from kyc.tests.factories import staff_user
from kyc.tests.test_api import client_for
from wallets import services, treasury
from wallets.models import (
    Asset,
    ColdWallet,
    ColdWalletAddressChange,
    ColdWalletTransfer,
    ColdWalletTransferStatus,
    SimulatedTransfer,
)
from wallets.networks import SimulatedNetwork
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db


def funded_with_cold(code: str, amount: str, to_cold: str) -> Asset:
    """An asset whose users hold `amount`, `to_cold` of it swept to cold, with a band wide enough not to matter."""
    asset = make_asset(code, hot_limits_relative=False, hot_floor=Decimal(0), hot_ceiling=Decimal("1e9"))
    ColdWallet.objects.create(asset=asset, address=f"sim{code.lower()}cold000000000000000000")
    fund(UserFactory().pk, asset, amount)
    sweep = treasury.request_transfer(
        asset=asset, direction="to_cold", amount=Decimal(to_cold), staff=None, automatic=True
    )
    treasury.execute_transfer(transfer_id=sweep.pk, staff=None)
    for _ in range(asset.confirmations_required):
        SimulatedNetwork().mine(asset=asset)
    assert treasury.settle_transfer(transfer_id=sweep.pk)
    return asset


@pytest.fixture
def usdt(settings: Any) -> Asset:
    settings.COLD_TRANSFER_SECOND_APPROVAL_USDT = 1000
    return funded_with_cold("USDT", "10000", "9000")


def refill(asset: Asset, amount: str, staff: Any) -> ColdWalletTransfer:
    return treasury.request_transfer(asset=asset, direction="to_hot", amount=Decimal(amount), staff=staff)


class TestRefillsAddUpOver24Hours:
    def test_splitting_a_refill_under_the_threshold_needs_the_second_approval_all_the_same(self, usdt: Asset) -> None:
        officer, colleague = staff_user("Treasury"), staff_user("Treasury")
        # 600 alone: under the threshold of 1000
        first = refill(usdt, "600", officer)
        assert treasury.execute_transfer(transfer_id=first.pk, staff=officer).status == "in_transit"
        # Another 600 within the day makes 1200 moved by one person: it waits for a colleague
        second = refill(usdt, "600", officer)
        assert treasury.plan_transfer(asset=usdt, direction="to_hot", amount=Decimal("600")).needs_second_approval
        with pytest.raises(Conflict, match="second approval"):
            treasury.execute_transfer(transfer_id=second.pk, staff=officer)
        treasury.approve_transfer(transfer_id=second.pk, staff=colleague)
        assert treasury.execute_transfer(transfer_id=second.pk, staff=officer).status == "in_transit"
        # What two people approved is not counted against what one may move alone: 600 + 300
        third = refill(usdt, "300", officer)
        assert treasury.execute_transfer(transfer_id=third.pk, staff=officer).status == "in_transit"
        fourth = refill(usdt, "200", officer)  # 600 + 300 + 200 > 1000
        with pytest.raises(Conflict, match="second approval"):
            treasury.execute_transfer(transfer_id=fourth.pk, staff=officer)
        # A day after the first two, the window has moved on
        a_day_ago = timezone.now() - timedelta(hours=24, seconds=1)
        ColdWalletTransfer.objects.filter(pk__in=[first.pk, third.pk]).update(executed_at=a_day_ago)
        assert treasury.execute_transfer(transfer_id=fourth.pk, staff=officer).status == "in_transit"

    def test_refills_of_other_assets_count_at_their_usdt_value(self, usdt: Asset) -> None:
        btc = funded_with_cold("BTC", "1", "0.5")  # 60,000 USDT a bitcoin
        officer = staff_user("Treasury")
        first = refill(usdt, "600", officer)
        treasury.execute_transfer(transfer_id=first.pk, staff=officer)
        second = refill(btc, "0.01", officer)  # 600 USDT more
        with pytest.raises(Conflict, match="second approval"):
            treasury.execute_transfer(transfer_id=second.pk, staff=officer)

    def test_a_refill_whose_broadcast_failed_is_not_counted(self, usdt: Asset, monkeypatch: Any) -> None:
        officer = staff_user("Treasury")
        first = refill(usdt, "600", officer)
        with monkeypatch.context() as patched:
            patched.setattr(SimulatedNetwork, "send", lambda *a, **k: (_ for _ in ()).throw(OSError("node down")))
            assert treasury.execute_transfer(transfer_id=first.pk, staff=officer).status == "cancelled"
        second = refill(usdt, "600", officer)
        assert treasury.execute_transfer(transfer_id=second.pk, staff=officer).status == "in_transit"


@pytest.mark.django_db(transaction=True)
def test_two_refills_executed_at_once_cannot_both_pass_alone(settings: Any) -> None:
    # Given two refills of 600 that together exceed the threshold of 1000
    settings.COLD_TRANSFER_SECOND_APPROVAL_USDT = 1000
    usdt = funded_with_cold("USDT", "10000", "9000")
    officers = [staff_user("Treasury"), staff_user("Treasury")]
    refills = [refill(usdt, "600", officer) for officer in officers]
    turn = iter(zip(refills, officers, strict=True))
    # When both are executed at the same instant, then one waits for a second approval
    results = race(lambda: treasury.execute_transfer(transfer_id=(t := next(turn))[0].pk, staff=t[1]), threads=2)
    assert sorted(type(r).__name__ for r in results) == ["ColdWalletTransfer", "Conflict"], results
    statuses = sorted(ColdWalletTransfer.objects.filter(direction="to_hot").values_list("status", flat=True))
    assert statuses == [ColdWalletTransferStatus.IN_TRANSIT, ColdWalletTransferStatus.REQUESTED]


def test_audit_rows_exist_for_refills(usdt: Asset) -> None:
    officer = staff_user("Treasury")
    transfer = refill(usdt, "100", officer)
    treasury.execute_transfer(transfer_id=transfer.pk, staff=officer)
    actions = set(AuditEvent.objects.filter(actor=officer).values_list("action", flat=True))
    assert actions == {AuditAction.TREASURY_REQUESTED, AuditAction.TREASURY_EXECUTED}


OLD_ADDRESS = "simusdtcold000000000000000000"
NEW_ADDRESS = "simusdtcoldnew11111111111111"


class TestColdWalletAddressChanges:
    def test_a_change_applies_when_a_second_person_approves_it_and_both_steps_are_audited(self, usdt: Asset) -> None:
        asker, approver = staff_user("Treasury"), staff_user("Treasury")
        # When one treasury member asks for a new address, then nothing changes yet
        change = treasury.request_cold_address_change(asset=usdt, address=f"  {NEW_ADDRESS} ", staff=asker)
        assert (change.status, change.old_address, change.new_address) == ("pending", OLD_ADDRESS, NEW_ADDRESS)
        assert ColdWallet.objects.get(asset=usdt).address == OLD_ADDRESS
        # The asker cannot approve it
        with pytest.raises(Forbidden, match="second"):
            treasury.approve_cold_address_change(change_id=change.pk, staff=asker)
        assert ColdWallet.objects.get(asset=usdt).address == OLD_ADDRESS
        # A colleague can, and from then on sweeps go to the new address
        applied = treasury.approve_cold_address_change(change_id=change.pk, staff=approver)
        assert (applied.status, applied.decided_by) == ("applied", approver)
        assert ColdWallet.objects.get(asset=usdt).address == NEW_ADDRESS
        sweep = treasury.request_transfer(asset=usdt, direction="to_cold", amount=Decimal("10"), staff=asker)
        sent = treasury.execute_transfer(transfer_id=sweep.pk, staff=asker)
        assert SimulatedTransfer.objects.get(txid=sent.txid).to_address == NEW_ADDRESS
        # Both steps are in the audit log, with the addresses
        requested = AuditEvent.objects.get(action=AuditAction.COLD_WALLET_CHANGE_REQUESTED)
        done = AuditEvent.objects.get(action=AuditAction.COLD_WALLET_CHANGED)
        assert (requested.actor, done.actor) == (asker, approver)
        for event in (requested, done):
            assert event.details == {"change": change.pk, "asset": "USDT", "old_address": OLD_ADDRESS,
                                     "new_address": NEW_ADDRESS}  # fmt: skip

    def test_a_rejected_change_leaves_the_address(self, usdt: Asset) -> None:
        asker = staff_user("Treasury")
        change = treasury.request_cold_address_change(asset=usdt, address=NEW_ADDRESS, staff=asker)
        # The asker may withdraw it, or a colleague reject it
        assert treasury.reject_cold_address_change(change_id=change.pk, staff=asker).status == "rejected"
        with pytest.raises(Conflict):
            treasury.approve_cold_address_change(change_id=change.pk, staff=staff_user("Treasury"))
        assert ColdWallet.objects.get(asset=usdt).address == OLD_ADDRESS
        assert AuditEvent.objects.filter(action=AuditAction.COLD_WALLET_CHANGE_REJECTED, actor=asker).exists()

    def test_one_change_at_a_time_and_only_a_real_new_address(self, usdt: Asset) -> None:
        asker = staff_user("Treasury")
        treasury.request_cold_address_change(asset=usdt, address=NEW_ADDRESS, staff=asker)
        with pytest.raises(Conflict, match="waits for approval"):
            treasury.request_cold_address_change(asset=usdt, address="simusdtcoldother2222222222", staff=asker)
        with pytest.raises(ValidationFailed):
            treasury.request_cold_address_change(asset=make_asset("BTC"), address="no spaces allowed", staff=asker)
        btc = make_asset("BTC")
        ColdWallet.objects.create(asset=btc, address="simbtccold000000000000000000")
        with pytest.raises(ValidationFailed, match="already"):
            treasury.request_cold_address_change(asset=btc, address="simbtccold000000000000000000", staff=asker)
        deposit = services.deposit_address(user_id=UserFactory().pk, asset=btc).address
        with pytest.raises(ValidationFailed, match="deposit address"):
            treasury.request_cold_address_change(asset=btc, address=deposit.upper(), staff=asker)

    def test_only_treasury_asks_and_approves(self, usdt: Asset) -> None:
        for outsider in (staff_user("Compliance"), UserFactory(is_staff=True)):
            with pytest.raises(Forbidden):
                treasury.request_cold_address_change(asset=usdt, address=NEW_ADDRESS, staff=outsider)
        change = treasury.request_cold_address_change(asset=usdt, address=NEW_ADDRESS, staff=staff_user("Treasury"))
        with pytest.raises(Forbidden):
            treasury.approve_cold_address_change(change_id=change.pk, staff=staff_user("Compliance"))

    def test_an_asset_without_a_cold_wallet_gets_one_on_approval(self) -> None:
        btc = make_asset("BTC")
        change = treasury.request_cold_address_change(
            asset=btc, address="simbtccold000000000000000000", staff=staff_user("Treasury")
        )
        assert change.old_address == ""
        treasury.approve_cold_address_change(change_id=change.pk, staff=staff_user("Treasury"))
        assert ColdWallet.objects.get(asset=btc).address == "simbtccold000000000000000000"

    def test_through_the_api(self, usdt: Asset) -> None:
        asker, approver = api_signed_in_with_2fa(staff_user("Treasury")), api_signed_in_with_2fa(staff_user("Treasury"))
        created = asker.post("/api/admin/cold-wallet-changes", {"asset": "USDT", "address": NEW_ADDRESS},
                             format="json")  # fmt: skip
        assert created.status_code == 201, created.content
        assert created.json()["status"] == "pending"
        change_id = created.json()["id"]
        assert asker.get("/api/admin/cold-wallet-changes").json()["results"][0]["id"] == change_id
        assert_error(asker.post(f"/api/admin/cold-wallet-changes/{change_id}/approve"), 403, "permission_denied")
        assert approver.post(f"/api/admin/cold-wallet-changes/{change_id}/approve").json()["status"] == "applied"
        assert asker.get("/api/admin/cold-wallets").json()[0]["address"] == NEW_ADDRESS
        password_only = client_for(staff_user("Treasury"))
        assert_error(password_only.post(f"/api/admin/cold-wallet-changes/{change_id}/reject"), 403,
                     "staff_2fa_required")  # fmt: skip

    def test_in_the_admin_the_address_is_only_changed_by_request(self, client: Any, usdt: Any) -> None:
        superuser = UserFactory(is_staff=True, is_superuser=True)
        signed_in_with_2fa(client, superuser)
        wallet = ColdWallet.objects.get(asset=usdt)
        # The cold wallet's own form no longer edits the address, not even for the superuser
        client.post(f"/admin/wallets/coldwallet/{wallet.pk}/change/", {"asset": usdt.pk, "address": NEW_ADDRESS,
                                                                     "label": "vault"})  # fmt: skip
        assert ColdWallet.objects.get(asset=usdt).address == OLD_ADDRESS
        assert ColdWallet.objects.get(asset=usdt).label == "vault"  # the label is still edited there
        # A bad address is refused at the field, as the service refuses it
        page = client.post("/admin/wallets/coldwalletaddresschange/add/", {"asset": usdt.pk,
                                                                           "new_address": OLD_ADDRESS})  # fmt: skip
        assert "cold wallet&#x27;s address already" in page.content.decode()
        # A request is made on the changes' page, and a second person approves it there
        response = client.post("/admin/wallets/coldwalletaddresschange/add/", {"asset": usdt.pk,
                                                                               "new_address": NEW_ADDRESS})  # fmt: skip
        assert response.status_code == 302, response.content.decode()[:2000]
        change = ColdWalletAddressChange.objects.get()
        assert (change.requested_by, change.status) == (superuser, "pending")
        assert ColdWallet.objects.get(asset=usdt).address == OLD_ADDRESS
        approve = {"action": "approve_changes", "_selected_action": [change.pk], "post": "yes"}
        client.post("/admin/wallets/coldwalletaddresschange/", approve)
        assert ColdWallet.objects.get(asset=usdt).address == OLD_ADDRESS  # not by the one who asked
        colleague = Client()
        signed_in_with_2fa(colleague, staff_user("Treasury"))
        assert "/admin/wallets/coldwalletaddresschange/" in colleague.get("/admin/").content.decode()
        page = colleague.post("/admin/wallets/coldwalletaddresschange/", {**approve, "post": ""})
        assert NEW_ADDRESS in page.content.decode()  # "are you sure?" names the new address
        colleague.post("/admin/wallets/coldwalletaddresschange/", approve)
        assert ColdWallet.objects.get(asset=usdt).address == NEW_ADDRESS
