"""Treasury in the admin and through /api/admin; compliance reviews withdrawals in the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.test_api_auth import assert_error
from conftest import signed_in_with_2fa
from kyc.tests.factories import staff_user
from kyc.tests.test_api import client_for
from wallets import ledger, treasury
from wallets.audit import run_audit
from wallets.models import AccountKind, ColdWallet, ColdWalletTransfer, ColdWalletTransferStatus
from wallets.networks import SimulatedNetwork
from wallets.tasks import rebalance_hot_wallets
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def usdt():
    asset = make_asset("USDT")
    ColdWallet.objects.create(asset=asset, address="simusdtcold0000000000000000")
    fund(UserFactory().pk, asset, "10000")
    return asset


def test_treasury_sweeps_and_refills_in_the_admin(client, usdt):
    officer = staff_user("Treasury")
    signed_in_with_2fa(client, officer)
    page = client.get("/admin/wallets/asset/")
    assert page.status_code == 200
    assert "10000" in page.content.decode()  # hot, before the sweep

    # Sweep by hand: a transfer to cold, requested then executed with the admin action.
    response = client.post("/admin/wallets/coldwallettransfer/add/", {"asset": usdt.pk, "direction": "to_cold",
                                                                      "amount": "9800"})  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == "/admin/wallets/coldwallettransfer/"
    sweep = ColdWalletTransfer.objects.get()
    assert sweep.requested_by == officer
    client.post("/admin/wallets/coldwallettransfer/", {"action": "execute_transfers", "_selected_action": [sweep.pk]})
    SimulatedNetwork().mine(asset=usdt)
    rebalance_hot_wallets()  # settles it, then finds the hot wallet below its floor: a refill request
    refill = ColdWalletTransfer.objects.get(direction="to_hot")
    client.post("/admin/wallets/coldwallettransfer/", {"action": "execute_transfers", "_selected_action": [refill.pk]})
    SimulatedNetwork().mine(asset=usdt)
    rebalance_hot_wallets()
    refill.refresh_from_db()
    assert (refill.status, refill.executed_by) == (ColdWalletTransferStatus.COMPLETED, officer)
    assert ledger.account(asset=usdt, kind=AccountKind.HOT_WALLET).balance == Decimal("1250")
    assert run_audit().ok


def test_compliance_cannot_execute_transfers(client, usdt):
    transfer = treasury.request_transfer(asset=usdt, direction="to_cold", amount=Decimal("100"), staff=None,
                                         automatic=True)  # fmt: skip
    signed_in_with_2fa(client, staff_user("Compliance"))
    response = client.post("/admin/wallets/coldwallettransfer/", {"action": "execute_transfers",
                                                                  "_selected_action": [transfer.pk]})  # fmt: skip
    assert response.status_code == 403
    transfer.refresh_from_db()
    assert transfer.status == ColdWalletTransferStatus.REQUESTED


def test_the_admin_api_serves_treasury_only(usdt):
    treasurer = client_for(staff_user("Treasury"))
    wallets = treasurer.get("/api/admin/wallets").json()
    assert {"asset": "USDT", "hot": "10000", "cold": "0", "in_transit": "0", "liabilities": "10000",
            "hot_floor": "500", "hot_ceiling": "2000"} in wallets  # fmt: skip
    assert treasurer.get("/api/admin/cold-wallets").json()[0]["asset"] == "USDT"
    created = treasurer.post("/api/admin/cold-transfers", {"asset": "USDT", "direction": "to_cold", "amount": "8000"},
                             format="json")  # fmt: skip
    assert created.status_code == 201
    executed = treasurer.post(f"/api/admin/cold-transfers/{created.json()['id']}/execute")
    assert executed.json()["status"] == "in_transit"
    assert treasurer.get("/api/admin/cold-transfers").json()["count"] == 1
    for outsider in (client_for(UserFactory()), client_for(staff_user("Compliance"))):
        assert_error(outsider.get("/api/admin/wallets"), 403, "permission_denied")
        assert_error(outsider.post(f"/api/admin/cold-transfers/{created.json()['id']}/execute"), 403,
                     "permission_denied")  # fmt: skip


def test_the_asset_list_reads_each_assets_position_once(client, usdt):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signed_in_with_2fa(client, staff_user("Treasury"))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/admin/wallets/asset/").status_code == 200
        return len(captured)

    one_asset = queries()
    make_asset("BTC")
    make_asset("ETH")
    assert queries() - one_asset == 2  # one balance query per further asset, not one per column
