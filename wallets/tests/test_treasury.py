"""Hot and cold wallets: automatic sweeps, refills executed by treasury, second approvals, no overdraw."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from conftest import race
from exchange.core.errors import Conflict, Forbidden, ValidationFailed
from kyc.tests.factories import staff_user
from wallets import ledger, services, treasury
from wallets.audit import run_audit
from wallets.models import AccountKind, ColdWallet, ColdWalletTransfer, ColdWalletTransferStatus
from wallets.networks import SimulatedNetwork
from wallets.tasks import rebalance_hot_wallets
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def usdt():
    asset = make_asset("USDT")  # hot kept between 5 % and 20 % of what users hold
    ColdWallet.objects.create(asset=asset, address="simusdtcold0000000000000000")
    return asset


def balance(asset, kind):
    return ledger.account(asset=asset, kind=kind).balance


def test_the_excess_above_the_ceiling_is_swept_to_cold(usdt):
    fund(UserFactory().pk, usdt, "10000")
    assert rebalance_hot_wallets() == 0  # sweeps 10000 - 1250 into transit
    transfer = ColdWalletTransfer.objects.get()
    assert (transfer.direction, transfer.amount, transfer.automatic) == ("to_cold", Decimal("8750"), True)
    assert transfer.status == ColdWalletTransferStatus.IN_TRANSIT
    assert transfer.txid
    assert balance(usdt, AccountKind.IN_TRANSIT) == Decimal("8750")
    assert run_audit().ok
    SimulatedNetwork().mine(asset=usdt)
    assert rebalance_hot_wallets() == 1
    assert (balance(usdt, AccountKind.HOT_WALLET), balance(usdt, AccountKind.COLD_WALLET)) == (1250, 8750)
    assert ColdWalletTransfer.objects.get().status == ColdWalletTransferStatus.COMPLETED
    assert run_audit().ok


def _drain_hot_to_cold(asset, amount):
    transfer = treasury.request_transfer(asset=asset, direction="to_cold", amount=Decimal(amount), staff=None,
                                         automatic=True)  # fmt: skip
    treasury.execute_transfer(transfer_id=transfer.pk, staff=None)
    SimulatedNetwork().mine(asset=asset)
    assert treasury.settle_transfer(transfer_id=transfer.pk)


def test_below_the_floor_a_refill_is_requested_and_treasury_executes_it(usdt):
    fund(UserFactory().pk, usdt, "10000")
    _drain_hot_to_cold(usdt, "9800")  # hot 200 < floor 500
    rebalance_hot_wallets()
    refill = ColdWalletTransfer.objects.get(direction="to_hot")
    assert (refill.status, refill.amount) == (ColdWalletTransferStatus.REQUESTED, Decimal("1050"))
    rebalance_hot_wallets()
    assert ColdWalletTransfer.objects.filter(direction="to_hot").count() == 1  # asked once

    with pytest.raises(Forbidden):
        treasury.execute_transfer(transfer_id=refill.pk, staff=staff_user("Compliance"))
    officer = staff_user("Treasury")
    treasury.execute_transfer(transfer_id=refill.pk, staff=officer)
    with pytest.raises(Conflict):
        treasury.execute_transfer(transfer_id=refill.pk, staff=officer)
    SimulatedNetwork().mine(asset=usdt)
    rebalance_hot_wallets()
    refill.refresh_from_db()
    assert (refill.status, refill.executed_by) == (ColdWalletTransferStatus.COMPLETED, officer)
    assert balance(usdt, AccountKind.HOT_WALLET) == Decimal("1250")
    assert run_audit().ok


def test_a_large_refill_takes_two_people(usdt, settings):
    settings.COLD_TRANSFER_SECOND_APPROVAL_USDT = 500
    fund(UserFactory().pk, usdt, "10000")
    _drain_hot_to_cold(usdt, "9000")
    first, second = staff_user("Treasury"), staff_user("Treasury")
    # 1000 USDT: above the threshold, and brings the hot wallet exactly to its ceiling of 2000.
    refill = treasury.request_transfer(asset=usdt, direction="to_hot", amount=Decimal("1000"), staff=first)
    with pytest.raises(Conflict, match="second approval"):
        treasury.execute_transfer(transfer_id=refill.pk, staff=first)
    with pytest.raises(Forbidden):
        treasury.approve_transfer(transfer_id=refill.pk, staff=first)  # not by the requester
    treasury.approve_transfer(transfer_id=refill.pk, staff=second)
    with pytest.raises(Forbidden):
        treasury.execute_transfer(transfer_id=refill.pk, staff=second)  # not by the approver
    assert treasury.execute_transfer(transfer_id=refill.pk, staff=first).status == ColdWalletTransferStatus.IN_TRANSIT


def test_a_transfer_beyond_the_source_wallet_is_refused(usdt):
    fund(UserFactory().pk, usdt, "100")
    refill = treasury.request_transfer(asset=usdt, direction="to_hot", amount=Decimal("50"), staff=None,
                                       automatic=True)  # fmt: skip
    with pytest.raises(Conflict, match="cold wallet holds 0"):
        treasury.execute_transfer(transfer_id=refill.pk, staff=staff_user("Treasury"))
    assert run_audit().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_treasury_transfers_never_overdraw_cold(usdt):
    fund(UserFactory().pk, usdt, "10000")
    _drain_hot_to_cold(usdt, "9000")  # cold 9000
    officer = staff_user("Treasury")
    transfers = [
        treasury.request_transfer(asset=usdt, direction="to_hot", amount=Decimal("4000"), staff=None, automatic=True)
        for _ in range(4)
    ]
    turn = iter(transfers)
    results = race(lambda: treasury.execute_transfer(transfer_id=next(turn).pk, staff=officer), threads=4)
    assert sum(isinstance(r, ColdWalletTransfer) for r in results) == 2, results
    assert balance(usdt, AccountKind.COLD_WALLET) == Decimal("1000")
    assert run_audit().ok


def test_deposits_and_withdrawal_payouts_still_balance_after_sweeps(usdt):
    user = UserFactory()
    fund(user.pk, usdt, "1000")
    rebalance_hot_wallets()
    services.transfer(from_user_id=user.pk, to_user_id=UserFactory().pk, asset=usdt, amount=Decimal("10"),
                      idempotency_key="t")  # fmt: skip
    assert run_audit().ok


def test_a_failed_broadcast_returns_the_funds_to_the_source_wallet(usdt, monkeypatch):
    fund(UserFactory().pk, usdt, "10000")

    def unreachable(self, **kwargs):
        raise ConnectionError("node unreachable")

    monkeypatch.setattr(SimulatedNetwork, "send", unreachable)
    transfer = treasury.request_transfer(asset=usdt, direction="to_cold", amount=Decimal("8000"), staff=None,
                                         automatic=True)  # fmt: skip
    assert treasury.execute_transfer(transfer_id=transfer.pk, staff=None).status == ColdWalletTransferStatus.CANCELLED
    assert (balance(usdt, AccountKind.HOT_WALLET), balance(usdt, AccountKind.IN_TRANSIT)) == (10000, 0)
    assert run_audit().ok


def test_transfers_asked_for_by_hand_count_the_open_ones(usdt):
    fund(UserFactory().pk, usdt, "10000")  # hot 10000, band 500 to 2000
    officer = staff_user("Treasury")
    treasury.request_transfer(asset=usdt, direction="to_cold", amount=Decimal("5000"), staff=officer)
    # Alone, another 5000 would leave 5000 in the hot wallet; after the first one, nothing.
    with pytest.raises(ValidationFailed, match=r"hot wallet with 0 USDT \(counting the 1 open transfer\)") as refused:
        treasury.request_transfer(asset=usdt, direction="to_cold", amount=Decimal("5000"), staff=officer)
    assert "sweep at most 4,500" in refused.value.details["amount"][0]
    plan = treasury.plan_transfer(asset=usdt, direction="to_cold", amount=Decimal("3000"))
    assert (plan.hot_after, plan.cold_after, plan.open_transfers) == (Decimal("2000"), Decimal("8000"), 1)
    assert ColdWalletTransfer.objects.count() == 1
