"""The one way money moves: `post_entry` writes a balanced journal entry and its balance changes.

Callers hold a transaction (services own it); this module checks the entry, locks the accounts in
id order, inserts the postings in one statement and updates the cached balances in one statement.
The database checks again at commit (every entry balanced per asset, no balance below zero).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from exchange.core import streams
from exchange.core.money import EXACT, numbers_array, storable
from wallets.lock_objects import lock_accounts
from wallets.models import AMOUNT_PLACES, ZERO, AccountKind, Asset, JournalEntry, LedgerAccount

INSERT_ENTRY_SQL = (
    "INSERT INTO wallets_journalentry (kind, idempotency_key, reference, memo, created_at) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
INSERT_POSTINGS_SQL = (
    "INSERT INTO wallets_posting (entry_id, account_id, asset_id, amount) "
    "SELECT %s, v.account_id, v.asset_id, v.amount "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS v(account_id, asset_id, amount)"
)
# `a.id = ANY(...)` lets the planner find the accounts by primary key rather than hash them all.
UPDATE_BALANCES_SQL = (
    "UPDATE wallets_ledgeraccount AS a SET balance = a.balance + v.delta "
    "FROM unnest(%(id)s::bigint[], %(delta)s::numeric[]) AS v(id, delta) "
    "WHERE a.id = v.id AND a.id = ANY(%(id)s::bigint[])"
)


class LedgerError(Exception):
    """A programming error: an entry that could never be right (unbalanced, empty, outside a transaction)."""


class DuplicateEntry(Exception):
    """An entry with this idempotency key exists: the operation was applied before."""


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    amount: Decimal  # debit positive, credit negative


def increase(account: LedgerAccount, amount: Decimal) -> Leg:
    """The leg that raises an account's balance (a debit for custody, a credit for what is owed)."""
    return Leg(account, amount if account.is_custody else amount.copy_negate())


def decrease(account: LedgerAccount, amount: Decimal) -> Leg:
    return Leg(account, amount.copy_negate() if account.is_custody else amount)


def move(source: LedgerAccount, target: LedgerAccount, amount: Decimal) -> list[Leg]:
    """Legs moving `amount` from one account to another on the same side (balance down, balance up)."""
    if source.is_custody != target.is_custody:
        raise LedgerError("move() is for two accounts on the same side; use increase/decrease")
    return [decrease(source, amount), increase(target, amount)]


def account(*, asset: Asset, kind: str, user_id: int | None = None) -> LedgerAccount:
    """Return the ledger account, creating it (at zero) the first time."""
    found, _ = LedgerAccount.objects.get_or_create(asset=asset, kind=kind, user_id=user_id)
    return found


def user_accounts(*, user_id: int, asset: Asset) -> tuple[LedgerAccount, LedgerAccount]:
    """Return the user's (available, locked) accounts of one asset: one query once both exist."""
    kinds = (AccountKind.USER_AVAILABLE, AccountKind.USER_LOCKED)
    found = {acc.kind: acc for acc in LedgerAccount.objects.filter(asset=asset, user_id=user_id, kind__in=kinds)}
    for kind in kinds:
        if kind not in found:
            found[kind] = account(asset=asset, kind=kind, user_id=user_id)
    return found[AccountKind.USER_AVAILABLE], found[AccountKind.USER_LOCKED]


def _merge(legs: Iterable[Leg]) -> dict[int, tuple[LedgerAccount, Decimal]]:
    merged: dict[int, tuple[LedgerAccount, Decimal]] = {}
    for leg in legs:
        if not leg.amount.is_finite() or leg.amount == ZERO:
            raise LedgerError(f"a leg must move a finite, non-zero amount, not {leg.amount}")
        if not storable(leg.amount):
            raise LedgerError(f"{leg.amount} is not an amount NUMERIC(36,{AMOUNT_PLACES}) holds")
        previous = merged.get(leg.account.pk)
        # Sums of stored amounts are exact in 60 digits: EXACT raises rather than ever round one.
        merged[leg.account.pk] = (leg.account, EXACT.add(previous[1] if previous else ZERO, leg.amount))
    return {pk: (acc, amount) for pk, (acc, amount) in merged.items() if amount != ZERO}


def post_entry(
    *, kind: str, idempotency_key: str, legs: Sequence[Leg], reference: str = "", memo: str = ""
) -> JournalEntry:
    """Write one balanced entry and apply it to the cached balances. Must run inside a transaction.

    Raises DuplicateEntry when the key was used before (nothing is written), and IntegrityError
    when a balance would go below zero (callers check funds first; this is the last line).
    """
    if not connection.in_atomic_block:
        raise LedgerError("post_entry() must run inside the caller's transaction")
    merged = _merge(legs)
    if not merged:
        raise LedgerError("an entry needs at least two legs that do not cancel out")
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for acc, amount in merged.values():
        totals[acc.asset_id] = EXACT.add(totals[acc.asset_id], amount)
    unbalanced = {asset: total for asset, total in totals.items() if total != ZERO}
    if unbalanced:
        raise LedgerError(f"unbalanced entry: sums per asset {unbalanced}")

    created_at = timezone.now()
    with connection.cursor() as cursor:
        # A duplicate key writes nothing and leaves the caller's transaction usable, without a savepoint.
        cursor.execute(INSERT_ENTRY_SQL, [kind, idempotency_key, reference, memo, created_at])
        inserted = cursor.fetchone()
        if inserted is None:
            raise DuplicateEntry(idempotency_key)
        entry = JournalEntry.from_db(
            connection.alias,
            ["id", "kind", "idempotency_key", "reference", "memo", "created_at"],
            [inserted[0], kind, idempotency_key, reference, memo, created_at],
        )
        lock_accounts(account_ids=merged.keys())
        # Both statements take their rows as arrays: one parameter each, however many legs (the engine's
        # entries have hundreds).
        cursor.execute(
            INSERT_POSTINGS_SQL,
            [
                entry.pk,
                numbers_array(merged),
                numbers_array(acc.asset_id for acc, _ in merged.values()),
                numbers_array(amount for _, amount in merged.values()),
            ],
        )
        # Balances are kept on each account's normal side: custody rises with debits, the rest with credits.
        ids = sorted(merged)
        deltas = [amount if acc.is_custody else amount.copy_negate() for acc, amount in (merged[pk] for pk in ids)]
        cursor.execute(UPDATE_BALANCES_SQL, {"id": numbers_array(ids), "delta": numbers_array(deltas)})
    # Tell the users' streams, once the money has really moved.
    owners = {acc.user_id for acc, _ in merged.values() if acc.user_id is not None}
    if owners:
        transaction.on_commit(lambda: streams.publish_to_users(owners, {"type": "user.balances"}))
    return entry
