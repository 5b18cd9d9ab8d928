"""The ledger: balanced entries, cached balances, holds, transfers, idempotency, and the database's own rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from accounts.tests.factories import UserFactory
from wallets import ledger, services
from wallets.audit import run_audit
from wallets.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting
from wallets.tests.factories import fund, make_asset

pytestmark = pytest.mark.django_db


def balances(user_id, asset):
    available, locked = ledger.user_accounts(user_id=user_id, asset=asset)
    return available.balance, locked.balance


@pytest.fixture
def btc():
    return make_asset("BTC")


def test_a_deposit_is_custody_in_and_an_obligation_to_the_user(btc):
    user = UserFactory()
    fund(user.pk, btc, "1.5")
    assert balances(user.pk, btc) == (Decimal("1.5"), 0)
    assert ledger.account(asset=btc, kind=AccountKind.HOT_WALLET).balance == Decimal("1.5")
    assert run_audit().ok


def test_hold_and_release_move_between_available_and_locked(btc):
    user = UserFactory()
    fund(user.pk, btc, "1")
    with transaction.atomic():
        services.hold(user_id=user.pk, asset=btc, amount=Decimal("0.4"), idempotency_key="h1")
    assert balances(user.pk, btc) == (Decimal("0.6"), Decimal("0.4"))
    with transaction.atomic():
        services.release(user_id=user.pk, asset=btc, amount=Decimal("0.4"), idempotency_key="r1")
    assert balances(user.pk, btc) == (Decimal("1"), 0)
    assert run_audit().ok


def test_a_hold_beyond_the_available_balance_is_refused(btc):
    user = UserFactory()
    fund(user.pk, btc, "1")
    with pytest.raises(services.InsufficientFunds, match=r"Not enough BTC: 1 available, 1\.00000001 needed"):
        services.hold(user_id=user.pk, asset=btc, amount=Decimal("1.00000001"), idempotency_key="h")
    assert balances(user.pk, btc) == (Decimal("1"), 0)


def test_a_retried_operation_never_applies_twice(btc):
    user = UserFactory()
    fund(user.pk, btc, "1")
    services.hold(user_id=user.pk, asset=btc, amount=Decimal("0.1"), idempotency_key="once")
    with pytest.raises(ledger.DuplicateEntry):
        services.hold(user_id=user.pk, asset=btc, amount=Decimal("0.1"), idempotency_key="once")
    assert balances(user.pk, btc) == (Decimal("0.9"), Decimal("0.1"))
    # A hold belongs to an order or a withdrawal; this one had none, so give it back for the audit.
    services.release(user_id=user.pk, asset=btc, amount=Decimal("0.1"), idempotency_key="once-release")


def test_transfer_between_users(btc):
    alice, bob = UserFactory(), UserFactory()
    fund(alice.pk, btc, "1")
    services.transfer(from_user_id=alice.pk, to_user_id=bob.pk, asset=btc, amount=Decimal("0.25"), idempotency_key="t")
    assert balances(alice.pk, btc)[0] == Decimal("0.75")
    assert balances(bob.pk, btc)[0] == Decimal("0.25")
    with pytest.raises(services.InsufficientFunds):
        services.transfer(from_user_id=bob.pk, to_user_id=alice.pk, asset=btc, amount=Decimal("1"), idempotency_key="x")
    assert run_audit().ok


def test_an_unbalanced_entry_never_reaches_the_database(btc):
    user = UserFactory()
    available, _ = ledger.user_accounts(user_id=user.pk, asset=btc)
    hot = ledger.account(asset=btc, kind=AccountKind.HOT_WALLET)
    with pytest.raises(ledger.LedgerError, match="unbalanced"), transaction.atomic():
        ledger.post_entry(
            kind=EntryKind.DEPOSIT,
            idempotency_key="bad",
            legs=[ledger.increase(hot, Decimal("1")), ledger.increase(available, Decimal("0.9"))],
        )
    assert not JournalEntry.objects.exists()


class TestTheDatabaseRefuses:
    """Raw SQL that bypasses the code still cannot break the ledger."""

    def _accounts(self, btc):
        user = UserFactory()
        available, _ = ledger.user_accounts(user_id=user.pk, asset=btc)
        hot = ledger.account(asset=btc, kind=AccountKind.HOT_WALLET)
        return available, hot

    def test_an_unbalanced_entry_at_commit(self, btc):
        available, hot = self._accounts(btc)

        def insert_unbalanced() -> None:
            with transaction.atomic(), connection.cursor() as c:
                c.execute(
                    "INSERT INTO wallets_journalentry (kind, idempotency_key, reference, memo, created_at) "
                    "VALUES ('deposit', 'raw', '', '', now()) RETURNING id"
                )
                entry_id = c.fetchone()[0]
                c.execute(
                    "INSERT INTO wallets_posting (entry_id, account_id, asset_id, amount) VALUES (%s, %s, %s, 5), "
                    "(%s, %s, %s, -4)",
                    [entry_id, hot.pk, btc.pk, entry_id, available.pk, btc.pk],
                )
                # Deferred constraints are checked at commit; inside a test's transaction, force it now.
                c.execute("SET CONSTRAINTS ALL IMMEDIATE")

        with pytest.raises(IntegrityError, match="is unbalanced"):
            insert_unbalanced()
        assert not Posting.objects.exists()

    def test_a_negative_balance(self, btc):
        available, _ = self._accounts(btc)
        with pytest.raises(IntegrityError, match="balance_nonnegative"), transaction.atomic(), connection.cursor() as c:
            c.execute("UPDATE wallets_ledgeraccount SET balance = -1 WHERE id = %s", [available.pk])

    def test_changing_or_deleting_history(self, btc):
        user = UserFactory()
        fund(user.pk, btc, "1")
        posting = Posting.objects.order_by("pk")[0]
        for statement in (
            "UPDATE wallets_posting SET amount = amount * 2 WHERE id = %s",
            "DELETE FROM wallets_posting WHERE id = %s",
        ):
            with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as c:
                c.execute(statement, [posting.pk])
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute("DELETE FROM wallets_journalentry WHERE id = %s", [posting.entry_id])

    def test_a_posting_in_another_asset_than_its_account(self, btc):
        eth = make_asset("ETH")
        _, hot = self._accounts(btc)

        def insert_mismatched() -> None:
            with transaction.atomic(), connection.cursor() as c:
                c.execute(
                    "INSERT INTO wallets_journalentry (kind, idempotency_key, reference, memo, created_at) "
                    "VALUES ('deposit', 'raw2', '', '', now()) RETURNING id"
                )
                entry_id = c.fetchone()[0]
                c.execute(
                    "INSERT INTO wallets_posting (entry_id, account_id, asset_id, amount) VALUES (%s, %s, %s, 5)",
                    [entry_id, hot.pk, eth.pk],
                )

        with pytest.raises(IntegrityError, match="not the account's asset"):
            insert_mismatched()


@pytest.mark.corrupts_ledger
class TestAudit:
    def test_passes_on_a_healthy_ledger(self, btc, capsys):
        fund(UserFactory().pk, btc, "2")
        call_command("audit_ledger")
        out = capsys.readouterr().out
        assert "ledger OK" in out
        assert "BTC" in out

    @pytest.mark.parametrize(
        ("corruption", "problem"),
        [
            ("UPDATE wallets_ledgeraccount SET balance = balance + 1 WHERE kind = 'user_available'", "[2]"),
            ("UPDATE wallets_ledgeraccount SET balance = balance + 1 WHERE kind = 'user_locked'", "[3]"),
            ("UPDATE wallets_ledgeraccount SET balance = balance - 0.5 WHERE kind = 'hot_wallet'", "[4]"),
        ],
    )
    def test_fails_with_exit_1_on_a_corrupted_database(self, btc, capsys, corruption, problem):
        fund(UserFactory().pk, btc, "2")
        with connection.cursor() as cursor:
            cursor.execute(corruption)
        with pytest.raises(SystemExit) as exit_info:
            call_command("audit_ledger")
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert "ledger BROKEN" in err
        assert problem in err

    def test_an_unbalanced_entry_is_reported(self, btc, capsys):
        fund(UserFactory().pk, btc, "2")
        with connection.cursor() as cursor:
            # Only a superuser can switch the triggers off like this: the corruption a DBA could cause.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                "INSERT INTO wallets_posting (entry_id, account_id, asset_id, amount) "
                "SELECT entry_id, account_id, asset_id, 0.1 FROM wallets_posting LIMIT 1"
            )
            cursor.execute("SET LOCAL session_replication_role = origin")
        result = run_audit()
        assert any(p.startswith("[1] BTC: postings sum to") for p in result.problems)
        assert any(p.startswith("[1] entry #") for p in result.problems)
        assert LedgerAccount.objects.exists()
