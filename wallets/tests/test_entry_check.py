"""The database checks every journal entry once per transaction (wallets 0007), and still sees all of it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.tests.factories import UserFactory
from wallets import ledger
from wallets.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting
from wallets.tests.factories import make_asset

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts():
    btc = make_asset("BTC")
    hot = ledger.account(asset=btc, kind=AccountKind.HOT_WALLET)
    users = [ledger.user_accounts(user_id=UserFactory().pk, asset=btc)[0] for _ in range(3)]
    return btc, hot, users


def new_entry(cursor, key):
    cursor.execute(
        "INSERT INTO wallets_journalentry (kind, idempotency_key, reference, memo, created_at) "
        "VALUES ('deposit', %s, '', '', now()) RETURNING id",
        [key],
    )
    return cursor.fetchone()[0]


def post(cursor, entry_id, asset, legs):
    cursor.execute(
        "INSERT INTO wallets_posting (entry_id, account_id, asset_id, amount) "
        "SELECT %s, account_id, %s, amount FROM unnest(%s::bigint[], %s::numeric[]) AS v(account_id, amount)",
        [entry_id, asset.pk, [acc.pk for acc, _ in legs], [amount for _, amount in legs]],
    )


class Balanced(Exception):
    """Raised to roll back an entry that passed its check."""


def check_now(cursor):
    """Fire the deferred checks queued so far (a test's transaction never commits), then defer again."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def write(steps):
    """Run the steps (each given the cursor) in a transaction of their own."""
    with transaction.atomic(), connection.cursor() as cursor:
        for step in steps:
            step(cursor)


def test_a_large_balanced_entry_passes_and_one_unbalanced_posting_anywhere_is_refused(accounts):
    btc, hot, (alice, *_) = accounts
    legs = [(hot, Decimal("0.001"))] * 300 + [(alice, Decimal("-0.3"))]

    def roll_back(_cursor):
        raise Balanced  # raw postings leave the cached balances behind (the audit would say so): undo them

    steps = [lambda c: post(c, new_entry(c, "big"), btc, legs), check_now, roll_back]
    with pytest.raises(Balanced):
        write(steps)
    for position in (0, 150, 300):
        broken = list(legs)
        broken[position] = (broken[position][0], broken[position][1] * 2)
        steps = [lambda c, key=f"big-{position}", legs=broken: post(c, new_entry(c, key), btc, legs), check_now]
        with pytest.raises(IntegrityError, match="is unbalanced"):
            write(steps)
    assert not JournalEntry.objects.filter(idempotency_key__startswith="big").exists()


def test_an_entry_that_gains_postings_after_it_was_checked_is_checked_again(accounts):
    btc, hot, (alice, bob, _) = accounts
    entry: list[int] = []
    steps = [
        lambda c: entry.append(new_entry(c, "twice")),
        lambda c: post(c, entry[0], btc, [(hot, Decimal(1)), (alice, Decimal(-1))]),
        check_now,  # balanced so far: the entry is marked as checked
        lambda c: post(c, entry[0], btc, [(bob, Decimal(-1))]),
        check_now,
    ]
    with pytest.raises(IntegrityError, match="is unbalanced"):
        write(steps)
    assert not Posting.objects.exists()


def test_interleaved_entries_are_each_checked_with_all_their_postings(accounts):
    btc, hot, (alice, bob, carol) = accounts
    entries: list[int] = []
    steps = [
        lambda c: entries.extend([new_entry(c, "first"), new_entry(c, "second")]),
        lambda c: post(c, entries[0], btc, [(hot, Decimal(2)), (alice, Decimal(-2))]),
        lambda c: post(c, entries[1], btc, [(hot, Decimal(1)), (bob, Decimal(-1))]),
        check_now,
        lambda c: post(c, entries[0], btc, [(carol, Decimal(-1))]),  # the mark is on the second entry now
        check_now,
    ]
    with pytest.raises(IntegrityError, match="is unbalanced"):
        write(steps)


def test_a_check_undone_by_a_rolled_back_savepoint_does_not_count(accounts):
    btc, hot, (alice, *_) = accounts
    entry: list[int] = []
    steps = [
        lambda c: entry.append(new_entry(c, "savepoint")),
        lambda c: post(c, entry[0], btc, [(hot, Decimal(1))]),
        lambda c: c.execute("SAVEPOINT s"),
        lambda c: post(c, entry[0], btc, [(alice, Decimal(-1))]),
        check_now,  # balanced inside the savepoint: marked
        lambda c: c.execute("ROLLBACK TO SAVEPOINT s"),  # the balancing posting and the mark are gone
        check_now,
    ]
    with pytest.raises(IntegrityError, match="is unbalanced"):
        write(steps)


def test_post_entry_still_writes_balanced_entries_in_one_transaction(accounts):
    _btc, hot, users = accounts
    with transaction.atomic():
        for i, user in enumerate(users):
            ledger.post_entry(
                kind=EntryKind.DEPOSIT,
                idempotency_key=f"deposit-{i}",
                legs=[ledger.increase(hot, Decimal(i + 1)), ledger.increase(user, Decimal(i + 1))],
            )
        with connection.cursor() as c:
            check_now(c)
    balances = LedgerAccount.objects.filter(pk__in=[u.pk for u in users]).order_by("pk")
    assert [account.balance for account in balances] == [1, 2, 3]
