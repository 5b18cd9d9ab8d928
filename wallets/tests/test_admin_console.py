"""Treasury in the admin and through /api/admin; compliance reviews withdrawals in the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.test_api_auth import assert_error
from conftest import api_signed_in_with_2fa, signed_in_with_2fa
from kyc.tests.factories import staff_user
from kyc.tests.test_api import client_for
from wallets import ledger, treasury
from wallets.audit import run_audit
from wallets.models import AccountKind, ColdWallet, ColdWalletTransfer, ColdWalletTransferStatus
from wallets.networks import SimulatedNetwork
from wallets.tasks import rebalance_hot_wallets
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db

ADD = "/admin/wallets/coldwallettransfer/add/"
TRANSFERS = "/admin/wallets/coldwallettransfer/"


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
    assert "10,000.000000" in page.content.decode()  # hot, before the sweep

    # Sweep by hand to the middle of the band: a transfer to cold, confirmed, then executed (confirmed too).
    response = client.post(ADD, {"asset": usdt.pk, "direction": "to_cold", "amount": "8750", "_confirmed": "1"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == "/admin/wallets/coldwallettransfer/"
    sweep = ColdWalletTransfer.objects.get()
    assert sweep.requested_by == officer
    client.post(TRANSFERS, {"action": "execute_transfers", "_selected_action": [sweep.pk], "post": "yes"})
    SimulatedNetwork().mine(asset=usdt)
    rebalance_hot_wallets()  # settles it: the hot wallet holds 1250, in its band of 500 to 2000
    # The band is raised to 15 % to 30 % of 10000: the hot wallet is below its floor, a refill is asked for.
    type(usdt).objects.filter(pk=usdt.pk).update(hot_floor=Decimal("0.15"), hot_ceiling=Decimal("0.30"))
    rebalance_hot_wallets()
    refill = ColdWalletTransfer.objects.get(direction="to_hot")
    client.post(TRANSFERS, {"action": "execute_transfers", "_selected_action": [refill.pk], "post": "yes"})
    SimulatedNetwork().mine(asset=usdt)
    rebalance_hot_wallets()
    refill.refresh_from_db()
    assert (refill.status, refill.executed_by) == (ColdWalletTransferStatus.COMPLETED, officer)
    assert ledger.account(asset=usdt, kind=AccountKind.HOT_WALLET).balance == Decimal("2250")
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
    treasurer = api_signed_in_with_2fa(staff_user("Treasury"))
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

    make_asset("BTC")  # priced in USDT: the prices are read once for the page (USDT needs none)
    two_assets = queries()
    make_asset("ETH")
    assert queries() - two_assets == 1  # one balance query per further asset, not one per column or price


class TestColdTransferForm:
    """The admin's transfer form refuses what the service refuses, next to the field, then asks first."""

    @pytest.mark.parametrize(
        ("direction", "amount", "message"),
        [
            ("to_cold", "-1", "Must be greater than zero."),
            ("to_cold", "0", "Must be greater than zero."),
            ("to_cold", "ten", "Not a number."),
            ("to_cold", "1.0000001", "USDT has at most 6 decimals."),
            ("to_cold", "20000", "The hot wallet holds 10,000 USDT: less than 20,000."),
            ("to_cold", "9800", "leave the hot wallet with 200 USDT, below its floor of 500"),
            ("to_hot", "100", "The cold wallet holds 0 USDT: less than 100."),
        ],
    )
    def test_a_transfer_the_wallets_cannot_make_is_refused_next_to_the_amount(
        self, client, usdt, direction, amount, message
    ):
        signed_in_with_2fa(client, staff_user("Treasury"))
        response = client.post(ADD, {"asset": usdt.pk, "direction": direction, "amount": amount, "_confirmed": "1"})
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert list(errors) == ["amount"]
        assert message in errors["amount"][0]
        assert "Constraint" not in response.content.decode()
        assert not ColdWalletTransfer.objects.exists()

    def test_a_refill_above_the_hot_wallets_ceiling_is_refused(self, client, usdt):
        treasury.execute_transfer(
            transfer_id=treasury.request_transfer(
                asset=usdt, direction="to_cold", amount=Decimal("8750"), staff=None, automatic=True
            ).pk,
            staff=None,
        )
        SimulatedNetwork().mine(asset=usdt)
        rebalance_hot_wallets()  # hot 1250, cold 8750, band 500 to 2000
        signed_in_with_2fa(client, staff_user("Treasury"))
        response = client.post(ADD, {"asset": usdt.pk, "direction": "to_hot", "amount": "1000"})
        assert "bring the hot wallet to 2,250 USDT, above its ceiling of 2,000" in str(
            response.context["adminform"].form.errors["amount"]
        )

    def test_the_api_refuses_the_same_transfer_with_the_same_words(self, usdt):
        response = api_signed_in_with_2fa(staff_user("Treasury")).post(
            "/api/admin/cold-transfers", {"asset": "USDT", "direction": "to_cold", "amount": "9800"}, format="json"
        )
        error = assert_error(response, 400, "validation_error")
        assert "below its floor of 500" in error["details"]["amount"][0]
        assert not ColdWalletTransfer.objects.exists()

    def test_a_valid_transfer_asks_are_you_sure_before_it_is_recorded(self, client, usdt):
        officer = staff_user("Treasury")
        signed_in_with_2fa(client, officer)
        page = client.post(ADD, {"asset": usdt.pk, "direction": "to_cold", "amount": "8000"})
        assert page.status_code == 200
        text = page.content.decode()
        assert "Move 8,000.000000 USDT from the hot wallet to the cold wallet?" in text
        assert "10,000.000000" in text  # the hot wallet before
        assert "2,000.000000" in text  # and after
        assert not ColdWalletTransfer.objects.exists()

        response = client.post(ADD, {"asset": usdt.pk, "direction": "to_cold", "amount": "8000", "_confirmed": "1"})
        assert response.status_code == 302
        transfer = ColdWalletTransfer.objects.get()
        assert (transfer.amount, transfer.requested_by, transfer.status) == (Decimal("8000"), officer, "requested")

    def test_executing_a_transfer_asks_first(self, client, usdt):
        transfer = treasury.request_transfer(asset=usdt, direction="to_cold", amount=Decimal("8000"), staff=None,
                                             automatic=True)  # fmt: skip
        signed_in_with_2fa(client, staff_user("Treasury"))
        page = client.post(TRANSFERS, {"action": "execute_transfers", "_selected_action": [transfer.pk]})
        assert page.status_code == 200
        text = page.content.decode()
        assert "Execute 1 transfer?" in text
        assert "8,000.000000 USDT" in text
        transfer.refresh_from_db()
        assert transfer.status == ColdWalletTransferStatus.REQUESTED

        done = client.post(TRANSFERS, {"action": "execute_transfers", "_selected_action": [transfer.pk], "post": "yes"})
        assert done.status_code == 302
        transfer.refresh_from_db()
        assert transfer.status == ColdWalletTransferStatus.IN_TRANSIT


@pytest.fixture
def held_withdrawal(settings):
    """A trader's 0.5 BTC withdrawal, held for compliance review (worth more than the review threshold)."""
    from kyc.models import LevelLimit
    from kyc.tests.factories import verified_user
    from wallets import withdrawals

    settings.WITHDRAWAL_EMAIL_CONFIRMATION = False
    btc = make_asset("BTC")
    LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("1e6"), review_threshold=Decimal("1000"))
    trader = verified_user(level=1)
    fund(trader.pk, btc, "1")
    withdrawal = withdrawals.request_withdrawal(
        user=trader, asset=btc, amount="0.5", address="bc1qexampleaddress000000000000000000000", otp=None
    )
    assert withdrawal.status == "pending_review"
    return withdrawal


class TestWithdrawalReview:
    def test_rejecting_asks_first_and_takes_the_reason_the_user_reads(self, client, held_withdrawal):
        signed_in_with_2fa(client, staff_user("Compliance"))
        listing = "/admin/wallets/withdrawal/"
        action = {"action": "reject_withdrawals", "_selected_action": [held_withdrawal.pk]}
        page = client.post(listing, action)
        assert page.status_code == 200
        assert "Reject 1 withdrawal and return the funds?" in page.content.decode()
        assert "0.50000000 BTC" in page.content.decode()
        held_withdrawal.refresh_from_db()
        assert held_withdrawal.status == "pending_review"

        without_reason = client.post(listing, {**action, "post": "yes", "reason": ""})
        assert without_reason.status_code == 200
        assert "This field is required." in without_reason.content.decode()

        done = client.post(listing, {**action, "post": "yes", "reason": "The source of funds was not shown."})
        assert done.status_code == 302
        held_withdrawal.refresh_from_db()
        assert (held_withdrawal.status, held_withdrawal.failure_reason) == (
            "rejected",
            "The source of funds was not shown.",
        )

    def test_approving_asks_first(self, client, held_withdrawal):
        signed_in_with_2fa(client, staff_user("Compliance"))
        action = {"action": "approve_withdrawals", "_selected_action": [held_withdrawal.pk]}
        page = client.post("/admin/wallets/withdrawal/", action)
        assert "Approve 1 withdrawal?" in page.content.decode()
        held_withdrawal.refresh_from_db()
        assert held_withdrawal.status == "pending_review"
        client.post("/admin/wallets/withdrawal/", {**action, "post": "yes"})
        held_withdrawal.refresh_from_db()
        assert held_withdrawal.status == "approved"


class TestAmountsOnTreasuryScreens:
    def test_amounts_show_at_the_assets_precision_with_separators_and_a_usdt_value(self, client):
        btc = make_asset("BTC")  # 8 decimals, 60,000 USDT a bitcoin (no market price yet)
        ColdWallet.objects.create(asset=btc, address="simbtccold000000000000000000")
        fund(UserFactory().pk, btc, "1234.5")
        signed_in_with_2fa(client, staff_user("Treasury"))
        text = client.get("/admin/wallets/asset/").content.decode()
        assert "1,234.50000000" in text  # hot, and what is owed to users
        assert "≈ 74,070,000.00 USDT" in text
        assert "61.72500000 to<br>246.90000000" in text  # the band: 5 % to 20 %
        assert ">1234.5<" not in text

        accounts = client.get("/admin/wallets/ledgeraccount/").content.decode()
        assert "1,234.50000000" in accounts
        assert "1234.500000000000000000" not in accounts

    def test_the_withdrawal_list_shows_the_amount_at_precision_and_the_value_in_cents(self, client, held_withdrawal):
        signed_in_with_2fa(client, staff_user("Compliance"))
        text = client.get("/admin/wallets/withdrawal/").content.decode()
        assert "0.50000000" in text
        assert "30,000.00" in text
        eighteen_decimals = ("0.500000000000000000", "30000.000000000000000000", "0.000200000000000000")
        assert not [shown for shown in eighteen_decimals if shown in text]
        detail = client.get(f"/admin/wallets/withdrawal/{held_withdrawal.pk}/change/").content.decode()
        for shown in ("0.50000000", "30,000.00", "0.00020000"):  # amount, value, fee
            assert shown in detail
        assert not [shown for shown in eighteen_decimals if shown in detail]

    def test_a_market_price_values_the_asset_when_there_is_one(self, client):
        from trading.markets import ensure_markets
        from trading.models import Market

        btc = make_asset("BTC")
        make_asset("ETH")
        make_asset("USDT")
        ColdWallet.objects.create(asset=btc, address="simbtccold000000000000000000")
        fund(UserFactory().pk, btc, "2")
        ensure_markets()
        Market.objects.filter(symbol="BTC-USDT").update(last_price=Decimal("50000"))
        signed_in_with_2fa(client, staff_user("Treasury"))
        assert "≈ 100,000.00 USDT" in client.get("/admin/wallets/asset/").content.decode()
