"""The engine's write: everything one batch caused, in one transaction, as set-based statements.

The market's position first, fenced by `engine_epoch` (an engine that lost the market raises
`Fenced` and writes nothing), then one ledger entry with the net balance change of every account
the batch touched, the trades and the batch's minute candle, and the orders' new state: each a
single statement over arrays (`unnest`), whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from exchange.core.money import numbers_array
from trading import candles
from trading.engine.settlement import AccountKey, Batch
from trading.marketdata import CandleRow
from wallets import ledger
from wallets.models import AccountKind, EntryKind, LedgerAccount

# `o.id = ANY(...)` repeats the join on purpose: it lets the planner fetch the batch's orders by primary
# key. Without it, it hashed every order of the market (a sequential scan) to join a few thousand rows.
UPDATE_ORDERS_SQL = """
UPDATE trading_order AS o
   SET status = v.status, filled_quantity = v.filled_quantity, filled_quote = v.filled_quote, fee = v.fee,
       hold_remaining = v.hold_remaining, reason = v.reason, updated_at = %(now)s
  FROM unnest(%(id)s::bigint[], %(status)s::text[], %(filled_quantity)s::numeric[], %(filled_quote)s::numeric[],
              %(fee)s::numeric[], %(hold_remaining)s::numeric[], %(reason)s::text[])
       AS v(id, status, filled_quantity, filled_quote, fee, hold_remaining, reason)
 WHERE o.id = v.id AND o.id = ANY(%(id)s::bigint[]) AND o.market_id = %(market)s
"""
INSERT_TRADES_SQL = """
INSERT INTO trading_trade (id, market_id, entry_id, created_at, price, quantity, quote_quantity, taker_side,
                           maker_order_id, taker_order_id, maker_user_id, taker_user_id, maker_fee, taker_fee)
SELECT v.id, %s, %s, %s, v.price, v.quantity, v.quote_quantity, v.taker_side,
       v.maker_order_id, v.taker_order_id, v.maker_user_id, v.taker_user_id, v.maker_fee, v.taker_fee
  FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::text[],
              %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[])
       AS v(id, price, quantity, quote_quantity, taker_side, maker_order_id, taker_order_id,
            maker_user_id, taker_user_id, maker_fee, taker_fee)
"""
TAKER_SIDE = 3  # the one text column of a trade row (Batch.trades), after price, quantity and notional
FENCE_SQL = (
    "UPDATE trading_market SET book_seq = book_seq + %s, last_price = COALESCE(%s, last_price) "
    "WHERE id = %s AND engine_epoch = %s RETURNING book_seq"
)
USER_KINDS = (AccountKind.USER_AVAILABLE, AccountKind.USER_LOCKED)


class Fenced(Exception):
    """Another engine took this market over: this one must stop writing to it."""


def texts(values: Iterable[str]) -> str:
    """Return the PostgreSQL array literal of these strings (each quoted, so '' and spaces survive)."""
    return "{" + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


class Written(NamedTuple):
    trade_ids: list[int]
    minute: CandleRow | None  # the batch's trades as a minute candle
    book_seq: int  # the market's book sequence after the batch


class BatchWriter:
    """One market engine's writes, and the ledger accounts it has looked up (kept across batches)."""

    def __init__(self, market_id: int, symbol: str, assets: tuple[int, int], epoch: int) -> None:
        self.market_id, self.symbol, self.assets, self.epoch = market_id, symbol, assets, epoch
        self.attempts = 0  # with the epoch, the ledger entry's idempotency key: one per write
        self.accounts: dict[AccountKey, LedgerAccount] = {}

    def _accounts_for(self, keys: list[AccountKey]) -> dict[AccountKey, LedgerAccount]:
        missing = [key for key in keys if key not in self.accounts]
        if missing:
            users = {user for user, _, _ in missing if user is not None}
            found = LedgerAccount.objects.filter(asset_id__in=self.assets, user_id__in=users, kind__in=USER_KINDS)
            for account in found:
                self.accounts[(account.user_id, account.asset_id, account.kind)] = account
            for key in missing:
                if key not in self.accounts:
                    user, asset_id, kind = key
                    account, _ = LedgerAccount.objects.get_or_create(asset_id=asset_id, kind=kind, user_id=user)
                    self.accounts[key] = account
        return {key: self.accounts[key] for key in keys}

    def write(self, batch: Batch) -> Written:
        """Write the batch in one transaction."""
        deltas = {key: amount for key, amount in batch.deltas.items() if amount}
        accounts = self._accounts_for(sorted(deltas, key=lambda k: (k[0] or 0, k[1], k[2])))
        now = timezone.now()
        self.attempts += 1
        book_changed = 1 if batch.levels else 0
        trade_ids: list[int] = []
        minute = None
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            cursor.execute(FENCE_SQL, [book_changed, batch.last_price, self.market_id, self.epoch])
            fenced = cursor.fetchone()
            if fenced is None:
                raise Fenced(self.symbol)
            entry_id = None
            if deltas:
                entry = ledger.post_entry(
                    kind=EntryKind.TRADE,
                    idempotency_key=f"match:{self.market_id}:{self.epoch}:{self.attempts}",
                    legs=[ledger.increase(accounts[key], amount) for key, amount in deltas.items()],
                    reference=f"market:{self.symbol}",
                    memo=f"{len(batch.trades)} trades, {batch.commands} commands",
                )
                entry_id = entry.pk
            if batch.trades:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence('trading_trade', 'id')) FROM generate_series(1, %s)",
                    [len(batch.trades)],
                )
                trade_ids = [row[0] for row in cursor.fetchall()]
                columns = list(zip(*batch.trades, strict=True))
                arrays = [
                    texts(column) if i == TAKER_SIDE else numbers_array(column) for i, column in enumerate(columns)
                ]
                cursor.execute(INSERT_TRADES_SQL, [self.market_id, entry_id, now, numbers_array(trade_ids), *arrays])
                minute = candles.of_trades(
                    now, [(price, quantity, quote) for price, quantity, quote, *_ in batch.trades]
                )
                candles.write(cursor, self.market_id, minute)
            orders = batch.touched.values()
            cursor.execute(
                UPDATE_ORDERS_SQL,
                {
                    "now": now,
                    "id": numbers_array(o.pk for o in orders),
                    "status": texts(str(o.status) for o in orders),
                    "filled_quantity": numbers_array(o.filled_quantity for o in orders),
                    "filled_quote": numbers_array(o.filled_quote for o in orders),
                    "fee": numbers_array(o.fee for o in orders),
                    "hold_remaining": numbers_array(o.hold_remaining for o in orders),
                    "reason": texts(o.reason for o in orders),
                    "market": self.market_id,
                },
            )
        return Written(trade_ids, minute, fenced[0])
