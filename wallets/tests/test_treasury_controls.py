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
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import UserFactory
from conftest import race
from exchange.errors import Conflict
from kyc.tests.factories import staff_user
from wallets import treasury
from wallets.models import Asset, ColdWallet, ColdWalletTransfer, ColdWalletTransferStatus
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
