"""Deposits on the simulated network: seen, confirmed, credited once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import Notification
from accounts.tests.factories import UserFactory
from conftest import race
from exchange.core.errors import Conflict
from wallets import ledger, services
from wallets.audit import run_audit
from wallets.models import Deposit, DepositStatus, JournalEntry
from wallets.networks import SimulatedNetwork
from wallets.tasks import scan_deposits
from wallets.tests.factories import make_asset

pytestmark = pytest.mark.django_db


def test_a_deposit_is_credited_once_it_has_enough_confirmations(django_capture_on_commit_callbacks):
    btc = make_asset("BTC")  # needs 2 confirmations
    user = UserFactory()
    deposit = services.simulate_incoming_deposit(user_id=user.pk, asset=btc, amount=Decimal("0.5"))
    address = services.deposit_address(user_id=user.pk, asset=btc)
    assert deposit.address == address
    assert address.address.startswith("simbtc1")

    with django_capture_on_commit_callbacks(execute=True):
        assert scan_deposits() == 0  # block 1: one confirmation
    deposit.refresh_from_db()
    assert (deposit.status, deposit.confirmations) == (DepositStatus.CONFIRMING, 1)
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert scan_deposits() == 1  # block 2: credited
        assert scan_deposits() == 0  # and never again
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.CREDITED
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == Decimal("0.5")
    assert JournalEntry.objects.filter(idempotency_key=f"deposit:{deposit.pk}").count() == 1
    assert Notification.objects.get(user=user).title == "Deposit credited: 0.5 BTC"
    assert mail.outbox[-1].to == [user.email]
    assert run_audit().ok


def test_crediting_too_early_is_refused():
    btc = make_asset("BTC")
    deposit = services.simulate_incoming_deposit(user_id=UserFactory().pk, asset=btc, amount=Decimal("1"))
    with pytest.raises(Conflict, match="0 of 2 confirmations"):
        services.credit_deposit(deposit_id=deposit.pk)


def test_a_transfer_to_an_address_seen_on_the_network_is_found_by_the_scan():
    usdt = make_asset("USDT")  # 1 confirmation
    user = UserFactory()
    address = services.deposit_address(user_id=user.pk, asset=usdt)
    SimulatedNetwork().receive(asset=usdt, address=address.address, amount=Decimal("250"))
    assert scan_deposits() == 1
    deposit = Deposit.objects.get()
    assert (deposit.user, deposit.amount, deposit.status) == (user, Decimal("250"), DepositStatus.CREDITED)


def test_simulated_deposits_can_be_switched_off(settings):
    settings.SIMULATED_DEPOSITS = False
    with pytest.raises(Conflict, match="Simulated deposits are off"):
        services.simulate_incoming_deposit(user_id=UserFactory().pk, asset=make_asset("BTC"), amount=Decimal("1"))


def test_a_disabled_asset_takes_no_deposits():
    eth = make_asset("ETH", deposit_enabled=False)
    with pytest.raises(services.AssetUnavailable):
        services.simulate_incoming_deposit(user_id=UserFactory().pk, asset=eth, amount=Decimal("1"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmation_tasks_credit_once():
    btc = make_asset("BTC")
    user = UserFactory()
    deposit = services.simulate_incoming_deposit(user_id=user.pk, asset=btc, amount=Decimal("0.3"))
    for _ in range(2):
        SimulatedNetwork().mine(asset=btc)
    services.record_seen_deposits(asset=btc)

    results = race(lambda: services.credit_deposit(deposit_id=deposit.pk), threads=6)
    assert sorted(results) == [False] * 5 + [True], results
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == Decimal("0.3")
    assert JournalEntry.objects.filter(kind="deposit").count() == 1
    assert run_audit().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_credit_once(settings):
    settings.SIMULATED_MINING = False  # the scans race on crediting, not on mining
    btc = make_asset("BTC")
    user = UserFactory()
    services.simulate_incoming_deposit(user_id=user.pk, asset=btc, amount=Decimal("0.7"))
    for _ in range(3):
        SimulatedNetwork().mine(asset=btc)
    results = race(scan_deposits, threads=4)
    assert sum(r for r in results if isinstance(r, int)) == 1, results
    assert ledger.user_accounts(user_id=user.pk, asset=btc)[0].balance == Decimal("0.7")
    assert run_audit().ok
