"""Deposits and withdrawals ask the compliance policy: each switch and limit of the admin's level table
decides, on the API, the pages and the background jobs alike. The ledger audit runs after every test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.test_api_auth import assert_error
from kyc.models import AmlFlag, LevelLimit
from kyc.tests.factories import staff_user, verified_user
from kyc.tests.test_api import client_for
from wallets import ledger, services
from wallets.models import Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from wallets.networks import SimulatedNetwork
from wallets.tasks import scan_deposits
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db

ADDRESS = "bc1qexampleaddress000000000000000000000"


@pytest.fixture
def btc():
    return make_asset("BTC")  # 60,000 USDT, 2 confirmations


def available(user, asset):
    return ledger.user_accounts(user_id=user.pk, asset=asset)[0].balance


def withdraw(client, amount):
    return client.post("/api/wallet/withdraw", {"asset": "BTC", "amount": amount, "address": ADDRESS}, format="json")


class TestCanDeposit:
    def test_switched_off_the_api_gives_no_address_and_takes_no_simulated_deposit(self, btc):
        # Given compliance switched deposits off for level 0
        LevelLimit.objects.filter(level=0).update(can_deposit=False)
        client = client_for(UserFactory())

        # When a registered user asks for an address, lists theirs, or simulates a deposit
        created = client.post("/api/wallet/deposit-addresses", {"asset": "BTC"}, format="json")
        listed = client.get("/api/wallet/deposit-addresses")
        simulated = client.post("/api/wallet/deposit", {"asset": "BTC", "amount": "0.1"}, format="json")

        # Then each is refused with the level that would allow it, and nothing is recorded
        for response in (created, listed, simulated):
            assert assert_error(response, 403, "kyc_required")["details"] == {"required_level": 1, "kyc_level": 0}
        assert not Deposit.objects.exists()

        # When compliance switches deposits on again, then the address is given
        LevelLimit.objects.filter(level=0).update(can_deposit=True)
        response = client.post("/api/wallet/deposit-addresses", {"asset": "BTC"}, format="json")
        assert response.status_code == 201
        assert response.json()["address"].startswith("simbtc1")

    def test_switched_off_the_deposit_page_shows_the_error_instead_of_the_address(self, client, btc):
        # Given a registered user who had an address, and deposits switched off for level 0 since
        user = UserFactory()
        address = services.deposit_address(user_id=user.pk, asset=btc).address
        LevelLimit.objects.filter(level=0).update(can_deposit=False)
        client.force_login(user)

        # When they open the deposit page, then it says why, and their address is not shown
        page = client.get("/wallet/deposit?asset=BTC").content.decode()
        assert "Deposits need a verified account (level 1)" in page
        assert address not in page

    def test_a_deposit_that_arrives_anyway_is_held_not_credited_and_credited_once_allowed(
        self, btc, django_capture_on_commit_callbacks
    ):
        # Given a registered user's address, then deposits switched off for level 0
        user = UserFactory()
        address = services.deposit_address(user_id=user.pk, asset=btc).address
        LevelLimit.objects.filter(level=0).update(can_deposit=False)

        # When 0.5 BTC reaches that address on chain and is confirmed
        SimulatedNetwork().receive(asset=btc, address=address, amount=Decimal("0.5"))
        with django_capture_on_commit_callbacks(execute=True):
            assert scan_deposits() == 0
            assert scan_deposits() == 0

        # Then it is recorded and held for treasury with the reason, flagged for compliance, and not credited
        deposit = Deposit.objects.get()
        assert deposit.status == DepositStatus.HELD
        assert "Deposits need a verified account (level 1)" in deposit.hold_reason
        assert AmlFlag.objects.filter(user=user).exists()
        assert available(user, btc) == 0

        # When compliance switches deposits on again and treasury retries it, then it is credited, once
        LevelLimit.objects.filter(level=0).update(can_deposit=True)
        assert services.retry_held_deposit(staff=staff_user("Treasury"), deposit_id=deposit.pk) is True
        assert available(user, btc) == Decimal("0.5")
        assert Deposit.objects.get().status == DepositStatus.CREDITED


class TestWithdrawalSwitchAndLimits:
    @pytest.fixture
    def trader(self, btc):
        # Room for these tests' amounts (0.1 BTC is 6,000 USDT) before each one narrows what it tests.
        LevelLimit.objects.filter(level=1).update(
            daily_withdrawal_limit=Decimal("1e6"), review_threshold=Decimal("1e6")
        )
        user = verified_user(level=1)
        fund(user.pk, btc, "1")
        return user

    def test_can_withdraw_off_refuses_and_on_again_accepts(self, trader):
        # Given compliance switched withdrawals off for level 1
        LevelLimit.objects.filter(level=1).update(can_withdraw=False)
        client = client_for(trader)

        # When the verified user withdraws, then it is refused and level 2 is named as what would allow it
        error = assert_error(withdraw(client, "0.1"), 403, "kyc_required")
        assert error["details"] == {"required_level": 2, "kyc_level": 1}
        assert not Withdrawal.objects.exists()

        # When compliance switches them on again, then the same request is accepted
        LevelLimit.objects.filter(level=1).update(can_withdraw=True)
        assert withdraw(client, "0.1").status_code == 201

    def test_the_daily_limit_is_the_tables(self, trader):
        # Given compliance lowered level 1's daily limit to 5,000 USDT
        LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("5000"))
        client = client_for(trader)

        # When the user withdraws 0.1 BTC (6,000 USDT), then it is above the limit
        error = assert_error(withdraw(client, "0.1"), 400, "limit_exceeded")
        assert error["details"] == {"limit_usdt": "5000.00", "left_usdt": "5000.00"}

        # When compliance raises it to 7,000 USDT, then the same withdrawal is accepted
        LevelLimit.objects.filter(level=1).update(daily_withdrawal_limit=Decimal("7000"))
        assert withdraw(client, "0.1").status_code == 201

    def test_the_review_threshold_is_the_tables(self, trader, settings):
        settings.WITHDRAWAL_EMAIL_CONFIRMATION = False  # straight to review or payout
        client = client_for(trader)

        # Given compliance lowered level 1's review threshold to 5,000 USDT
        LevelLimit.objects.filter(level=1).update(review_threshold=Decimal("5000"))

        # When the user withdraws 0.1 BTC (6,000 USDT), then it waits for staff, saying why
        first = Withdrawal.objects.get(pk=withdraw(client, "0.1").json()["id"])
        assert first.status == WithdrawalStatus.PENDING_REVIEW
        assert first.review_reason == "worth 6000.00 USDT, above the review threshold of 5000.00 USDT"

        # When compliance raises it to 7,000 USDT, then the same withdrawal goes straight on to the payout
        LevelLimit.objects.filter(level=1).update(review_threshold=Decimal("7000"))
        second = Withdrawal.objects.get(pk=withdraw(client, "0.1").json()["id"])
        assert (second.status, second.review_reason) == (WithdrawalStatus.APPROVED, "")
