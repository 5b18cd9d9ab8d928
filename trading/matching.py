"""The engine's Django side for one market: rebuild the book, take commands in sequence, settle each batch.

`MarketEngine.run_batch` reads up to `limit` pending commands (new orders and cancel requests) in
`seq` order, runs them through the pure matching core (`trading.engine`), and writes everything the
batch caused in **one transaction**: the market's position (fenced by `engine_epoch`), one ledger
entry with the net balance change of every account touched (trade settlement, fees to fee revenue,
released holds), the trades and the orders' new state — each a single set-based statement over
arrays (`unnest`). Events go out only after the commit. If anything fails, the in-memory book is
thrown away and rebuilt from the database, which is always the truth.

Settlement of a trade of `q` base at price `p` (notional `n = p x q`), fees in the asset received:
the buyer's locked quote -n, the buyer's available base +(q - buyer fee), the seller's locked base -q,
the seller's available quote +(n - seller fee), fee revenue +both fees.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from exchange.core.money import MONEY, numbers_array
from trading import candles, events, marketdata
from trading.candles import OpenCandles
from trading.engine import Algorithm as EngineAlgorithm
from trading.engine import Done, DoneReason, Order, OrderBook, Rested, Trade
from trading.engine import SelfTrade as EngineSelfTrade
from trading.engine import Side as EngineSide
from trading.engine import TimeInForce as EngineTif
from trading.marketdata import CandleRow
from trading.models import LIVE_STATUSES, Market, OrderStatus, Side
from trading.order_types.market import NAME as MARKET_TYPE
from wallets import ledger
from wallets.models import AccountKind, EntryKind, LedgerAccount

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
AVAILABLE, LOCKED, FEES = AccountKind.USER_AVAILABLE, AccountKind.USER_LOCKED, AccountKind.FEE_REVENUE

ORDER_COLUMNS = (
    "id, user_id, side, type, price, quantity, quote_quantity, time_in_force, post_only, "
    "self_trade_prevention, hold_remaining, filled_quantity, filled_quote, fee, status"
)
# Both reads must walk a partial index (trading_order_pending, trading_order_cancel_pending) in order
# and stop after `limit` rows, whatever the statistics say; fetch_commands switches bitmap scans off,
# which otherwise read and sort every pending command (when statistics say few are pending: tens of
# ms per batch under a backlog of 100k). The market id as a range, not an equality, keeps the unique
# index on seq from serving the ORDER BY (when statistics say most orders are pending, the planner
# took it, and each batch then stepped over every order already processed).
PENDING_TEMPLATE = (
    "SELECT COLUMNS, seq FROM trading_order "
    "WHERE market_id BETWEEN %(market)s AND %(market)s AND status = 'pending' ORDER BY market_id, seq LIMIT %(limit)s"
)
PENDING_SQL = PENDING_TEMPLATE.replace("COLUMNS", ORDER_COLUMNS)
CANCELS_SQL = (
    "SELECT id, cancel_seq FROM trading_order WHERE market_id = %s AND cancel_seq IS NOT NULL "
    "AND status = ANY(%s) ORDER BY cancel_seq LIMIT %s"
)
RESTING_TEMPLATE = (
    "SELECT COLUMNS FROM trading_order WHERE market_id = %s AND status IN ('open', 'partially_filled') ORDER BY seq"
)
RESTING_SQL = RESTING_TEMPLATE.replace("COLUMNS", ORDER_COLUMNS)
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


def _texts(values: Iterable[str]) -> str:
    """Return the PostgreSQL array literal of these strings (each quoted, so '' and spaces survive)."""
    return "{" + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


# Per order, a dict lookup is cheaper than calling an Enum, and str() of a plain string cheaper than
# str() of a TextChoices member: the engine keeps statuses as plain strings and looks up the core's enums.
SIDES = {side.value: side for side in EngineSide}
SIDE_VALUES = {side: side.value for side in EngineSide}  # `.value` of an Enum member is a descriptor call
BUY = EngineSide.BUY
TIMES_IN_FORCE = {tif.value: tif for tif in EngineTif}
SELF_TRADE = {stp.value: stp for stp in EngineSelfTrade}
OPEN, PARTIALLY_FILLED = str(OrderStatus.OPEN), str(OrderStatus.PARTIALLY_FILLED)
FILLED, CANCELLED = str(OrderStatus.FILLED), str(OrderStatus.CANCELLED)
EXPIRED, REJECTED = str(OrderStatus.EXPIRED), str(OrderStatus.REJECTED)


TICKER_SECONDS = 1.0


class Fenced(Exception):
    """Another engine took this market over: this one must stop writing to it."""


class BookCorrupt(Exception):
    """The open orders in the database cross each other: nothing can be matched safely."""


class Live:
    """What the engine tracks of an order it is working on (in a batch, or resting on the book)."""

    __slots__ = (
        "fee",
        "filled_quantity",
        "filled_quote",
        "hold_remaining",
        "is_buy",
        "last_price_ticks",
        "pk",
        "price",
        "quantity",
        "quote_sized",
        "reason",
        "resting",
        "side",
        "status",
        "ticks",
        "time_in_force",
        "type",
        "user_id",
    )

    def __init__(self, row: tuple[Any, ...]) -> None:
        (
            self.pk,
            self.user_id,
            self.side,
            self.type,
            self.price,
            self.quantity,
            quote_quantity,
            self.time_in_force,
            _post_only,
            _stp,
            self.hold_remaining,
            self.filled_quantity,
            self.filled_quote,
            self.fee,
            self.status,
        ) = row[:15]
        self.quote_sized = quote_quantity is not None
        self.reason = ""
        self.resting = self.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
        self.last_price_ticks = 0
        self.is_buy: bool = self.side == Side.BUY
        self.ticks = 0  # its limit price in ticks (set with its engine order; 0 for a market order)


@dataclass
class Batch:
    """Everything one batch changes, gathered before the write."""

    touched: dict[int, Live] = field(default_factory=dict)
    trades: list[tuple[Any, ...]] = field(default_factory=list)
    deltas: dict[tuple[int | None, int, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    levels: set[tuple[str, int]] = field(default_factory=set)
    commands: int = 0
    last_price: Decimal | None = None
    minute: CandleRow | None = None  # the batch's trades as a minute candle


@dataclass
class Stats:
    batches: int = 0
    commands: int = 0
    trades: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def take(self) -> Stats:
        taken = Stats(self.batches, self.commands, self.trades, self.latencies_ms)
        self.batches = self.commands = self.trades = 0
        self.latencies_ms = []
        return taken


class MarketEngine:
    def __init__(self, market_id: int, epoch: int) -> None:
        self.market_id = market_id
        self.epoch = epoch
        self.attempts = 0
        self.stats = Stats()
        self.accounts: dict[tuple[int | None, int, str], LedgerAccount] = {}
        self.load_market()
        self.rebuild()

    # --- state from the database ------------------------------------------------------------------

    def load_market(self) -> None:
        market = Market.objects.select_related("base", "quote").get(pk=self.market_id)
        self.symbol = market.symbol
        self.tick, self.lot = market.tick_size, market.lot_size
        self.unit = market.tick_size * market.lot_size  # quote per tick x lot
        self.base_id, self.quote_id = market.base_id, market.quote_id
        self.base_quantum, self.quote_quantum = market.base.quantum, market.quote.quantum
        self.base_decimals, self.quote_decimals = market.base.decimals, market.quote.decimals
        self.maker_rate, self.taker_rate = market.maker_fee_rate, market.taker_fee_rate
        self.algorithm = EngineAlgorithm(market.algorithm)
        self.book_seq = market.book_seq
        self.market = market
        self.open_candles: OpenCandles | None = None  # loaded on the first trade
        self.ticker_at = 0.0
        self.ticker_due = False

    def rebuild(self) -> None:
        """Drop the in-memory book and build it again from the open orders, in sequence order."""
        self.stale = True
        self.book = OrderBook(self.algorithm)
        self.live: dict[int, Live] = {}
        self.level_totals: dict[tuple[str, int], int] = defaultdict(int)
        with connection.cursor() as cursor:
            cursor.execute("SELECT book_seq FROM trading_market WHERE id = %s", [self.market_id])
            self.book_seq = cursor.fetchone()[0]
            cursor.execute(RESTING_SQL, [self.market_id])
            rows = cursor.fetchall()
        for row in rows:
            live = Live(row)
            order = self._engine_order(live, row)
            events = self.book.place(order)
            if len(events) != 1 or not isinstance(events[0], Rested):
                raise BookCorrupt(f"{self.symbol}: open order {live.pk} crosses the book in the database")
            self.live[live.pk] = live
            self.level_totals[(live.side, order.price or 0)] += order.quantity
        self.stale = False
        # The book is long-lived: keep its objects out of the collector's full passes, which would
        # otherwise walk every resting order a few times per 100k commands (100-250 ms pauses).
        gc.freeze()
        logger.info("engine %s: book rebuilt with %d open orders (book seq %d)", self.symbol, len(rows), self.book_seq)

    def _engine_order(self, live: Live, row: tuple[Any, ...]) -> Order:
        remaining = None if live.quantity is None else live.quantity - live.filled_quantity
        lots = 0 if remaining is None else int(remaining / self.lot)
        budget: int | None = None
        if live.type == MARKET_TYPE and live.is_buy:
            budget = int(live.hold_remaining / self.unit)  # the hold is the most it may spend
            if live.quote_sized:
                lots = budget  # at least one tick per lot: it can never buy more lots than this
        if live.price is not None:
            live.ticks = int(live.price / self.tick)
        return Order(
            id=live.pk,
            user=live.user_id,
            side=SIDES[live.side],
            quantity=lots,
            price=None if live.price is None else live.ticks,
            time_in_force=TIMES_IN_FORCE[row[7]],
            post_only=bool(row[8]),
            self_trade=SELF_TRADE[row[9]],
            quote_budget=budget,
        )

    # --- one batch --------------------------------------------------------------------------------

    def fetch_commands(self, limit: int) -> list[tuple[int, tuple[Any, ...] | None, int]]:
        """Return up to `limit` commands as (seq, order row or None for a cancel, order id), in seq order."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")  # see PENDING_SQL
            cursor.execute(PENDING_SQL, {"market": self.market_id, "limit": limit})
            orders = cursor.fetchall()
            cursor.execute(CANCELS_SQL, [self.market_id, list(LIVE_STATUSES), limit])
            cancels = cursor.fetchall()
            cursor.execute("SET LOCAL enable_bitmapscan TO DEFAULT")  # when this was a savepoint, not a transaction
        commands = [(row[15], row, row[0]) for row in orders] + [(seq, None, pk) for pk, seq in cancels]
        commands.sort(key=lambda command: command[0])
        # A full list may continue past what the other holds: stop where both are complete.
        ends = []
        if len(orders) == limit:
            ends.append(orders[-1][15])
        if len(cancels) == limit:
            ends.append(cancels[-1][1])
        if ends:
            cut = min(ends)
            commands = [command for command in commands if command[0] <= cut]
        return commands[:limit]

    def run_batch(self, limit: int) -> int:
        """Process up to `limit` commands; return how many. Raises Fenced when the market was taken over."""
        if self.stale:
            self.rebuild()
        commands = self.fetch_commands(limit)
        if not commands:
            self.publish_due_ticker()
            return 0
        started = time.perf_counter()
        batch = Batch()
        try:
            # Notionals, fees and sums of stored amounts need more than the default 28 digits.
            with localcontext(MONEY):
                for _seq, row, pk in commands:
                    if row is None:
                        self._cancel(pk, batch)
                    else:
                        self._place(row, batch)
                batch.commands = len(commands)
                trade_ids = self._write(batch)
        except BaseException:
            self.stale = True  # the book may hold part of the batch: the database has the truth
            raise
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.stats.batches += 1
        self.stats.commands += batch.commands
        self.stats.trades += len(batch.trades)
        self.stats.latencies_ms.append(elapsed_ms)
        events.publish_batch(self._published(batch, trade_ids))
        return batch.commands

    def _place(self, row: tuple[Any, ...], batch: Batch) -> None:
        live = Live(row)
        order = self._engine_order(live, row)
        self.live[live.pk] = live
        batch.touched[live.pk] = live
        for event in self.book.place(order):
            self._apply(event, batch, taker=live)
        if live.resting and live.is_buy and live.price is not None:
            # A buy that took at better prices holds more than its rest needs: give the excess back.
            needed = (live.quantity - live.filled_quantity) * live.price
            if live.hold_remaining > needed:
                self._release(live, live.hold_remaining - needed, batch)

    def _cancel(self, pk: int, batch: Batch) -> None:
        produced = self.book.cancel(pk)
        if not produced:
            live = self.live.get(pk) or batch.touched.get(pk)
            if live is None or live.status in LIVE_STATUSES:
                # Live in the database but not on the book: the two disagree; rebuild and try again.
                raise BookCorrupt(f"{self.symbol}: cancel of order {pk}, which is not on the book")
        for event in produced:
            self._apply(event, batch, taker=None)

    def _apply(self, event: object, batch: Batch, *, taker: Live | None) -> None:
        if isinstance(event, Trade):
            self._settle(event, batch)
        elif isinstance(event, Rested):
            live = self.live[event.order]
            live.resting = True
            live.status = PARTIALLY_FILLED if live.filled_quantity else OPEN
            key = (live.side, live.ticks)
            self.level_totals[key] += event.quantity
            batch.levels.add(key)
        elif isinstance(event, Done):
            live = self.live.pop(event.order)
            batch.touched[live.pk] = live
            if live.resting:
                key = (live.side, live.ticks)
                self.level_totals[key] -= event.remaining
                batch.levels.add(key)
                live.resting = False
            live.status, live.reason = self._outcome(live, event, taker)
            if live.hold_remaining:
                self._release(live, live.hold_remaining, batch)

    def _outcome(self, live: Live, done: Done, taker: Live | None) -> tuple[str, str]:
        if done.reason is DoneReason.FILLED:
            return FILLED, ""
        if done.reason is DoneReason.REJECTED:
            return REJECTED, "post_only_would_take"
        if done.reason is DoneReason.CANCELLED:
            return CANCELLED, "cancelled" if taker is None else "self_trade_prevention"
        # Expired: what is left of an IOC, FOK or market order.
        money_ran_out = int(live.hold_remaining / self.unit) < live.last_price_ticks
        if live.type == MARKET_TYPE and live.is_buy and live.filled_quantity and money_ran_out:
            return (FILLED, "") if live.quote_sized else (EXPIRED, "price_protection")
        return EXPIRED, "fill_or_kill" if live.time_in_force == "FOK" else "immediate_or_cancel"

    def _settle(self, trade: Trade, batch: Batch) -> None:
        maker, taker = self.live[trade.maker_order], self.live[trade.taker_order]
        price = trade.price * self.tick
        quantity = trade.quantity * self.lot
        notional = trade.price * trade.quantity * self.unit
        buyer, seller = (taker, maker) if trade.taker_side is BUY else (maker, taker)
        buyer_rate = self.taker_rate if buyer is taker else self.maker_rate
        seller_rate = self.taker_rate if seller is taker else self.maker_rate
        buyer_fee = (quantity * buyer_rate).quantize(self.base_quantum, rounding=ROUND_CEILING)
        seller_fee = (notional * seller_rate).quantize(self.quote_quantum, rounding=ROUND_CEILING)

        deltas = batch.deltas
        deltas[(buyer.user_id, self.quote_id, LOCKED)] -= notional
        deltas[(buyer.user_id, self.base_id, AVAILABLE)] += quantity - buyer_fee
        deltas[(seller.user_id, self.base_id, LOCKED)] -= quantity
        deltas[(seller.user_id, self.quote_id, AVAILABLE)] += notional - seller_fee
        deltas[(None, self.base_id, FEES)] += buyer_fee
        deltas[(None, self.quote_id, FEES)] += seller_fee
        buyer.hold_remaining -= notional
        seller.hold_remaining -= quantity
        buyer.fee += buyer_fee
        seller.fee += seller_fee
        for live in (maker, taker):
            live.filled_quantity += quantity
            live.filled_quote += notional
            live.last_price_ticks = trade.price
            batch.touched[live.pk] = live
        if maker.status == OPEN:
            maker.status = PARTIALLY_FILLED
        key = (maker.side, trade.price)
        self.level_totals[key] -= trade.quantity
        batch.levels.add(key)
        batch.last_price = price
        maker_fee, taker_fee = (buyer_fee, seller_fee) if maker is buyer else (seller_fee, buyer_fee)
        parties = (maker.pk, taker.pk, maker.user_id, taker.user_id)
        batch.trades.append((price, quantity, notional, SIDE_VALUES[trade.taker_side], *parties, maker_fee, taker_fee))

    def _release(self, live: Live, amount: Decimal, batch: Batch) -> None:
        asset_id = self.quote_id if live.is_buy else self.base_id
        batch.deltas[(live.user_id, asset_id, LOCKED)] -= amount
        batch.deltas[(live.user_id, asset_id, AVAILABLE)] += amount
        live.hold_remaining -= amount
        batch.touched[live.pk] = live

    # --- the write --------------------------------------------------------------------------------

    def _accounts_for(
        self, keys: list[tuple[int | None, int, str]]
    ) -> dict[tuple[int | None, int, str], LedgerAccount]:
        missing = [key for key in keys if key not in self.accounts]
        if missing:
            users = {user for user, _, _ in missing if user is not None}
            found = LedgerAccount.objects.filter(
                asset_id__in=[self.base_id, self.quote_id], user_id__in=users, kind__in=[AVAILABLE, LOCKED]
            )
            for acc in found:
                self.accounts[(acc.user_id, acc.asset_id, acc.kind)] = acc
            for key in missing:
                if key not in self.accounts:
                    user, asset_id, kind = key
                    acc, _ = LedgerAccount.objects.get_or_create(asset_id=asset_id, kind=kind, user_id=user)
                    self.accounts[key] = acc
        return {key: self.accounts[key] for key in keys}

    def _write(self, batch: Batch) -> list[int]:
        """Write the batch in one transaction; return the new trades' ids."""
        deltas = {key: amount for key, amount in batch.deltas.items() if amount}
        accounts = self._accounts_for(sorted(deltas, key=lambda k: (k[0] or 0, k[1], k[2])))
        now = timezone.now()
        self.attempts += 1
        book_changed = 1 if batch.levels else 0
        trade_ids: list[int] = []
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
                    _texts(column) if i == TAKER_SIDE else numbers_array(column) for i, column in enumerate(columns)
                ]
                cursor.execute(INSERT_TRADES_SQL, [self.market_id, entry_id, now, numbers_array(trade_ids), *arrays])
                batch.minute = candles.of_trades(
                    now, [(price, quantity, quote) for price, quantity, quote, *_ in batch.trades]
                )
                candles.write(cursor, self.market_id, batch.minute)
            orders = batch.touched.values()
            cursor.execute(
                UPDATE_ORDERS_SQL,
                {
                    "now": now,
                    "id": numbers_array(o.pk for o in orders),
                    "status": _texts(str(o.status) for o in orders),
                    "filled_quantity": numbers_array(o.filled_quantity for o in orders),
                    "filled_quote": numbers_array(o.filled_quote for o in orders),
                    "fee": numbers_array(o.fee for o in orders),
                    "hold_remaining": numbers_array(o.hold_remaining for o in orders),
                    "reason": _texts(o.reason for o in orders),
                    "market": self.market_id,
                },
            )
        self.book_seq = fenced[0]
        return trade_ids

    def _candles(self, batch: Batch) -> dict[str, CandleRow]:
        if batch.minute is None:
            return {}
        if self.open_candles is None:
            self.open_candles = OpenCandles.load(self.market)  # includes this batch's minute already
            return dict(self.open_candles.current)
        return self.open_candles.add(batch.minute)

    def _ticker(self, batch: Batch) -> marketdata.Ticker | None:
        """The ticker, at most once a second, when the batch traded or moved the book.

        A change inside the second is not lost: `ticker_due` makes the next idle pass send it.
        """
        if batch.last_price is not None:
            self.market.last_price = batch.last_price
        if not (batch.trades or batch.levels or self.ticker_due):
            return None
        if time.monotonic() - self.ticker_at < TICKER_SECONDS:
            self.ticker_due = True
            return None
        self.ticker_at, self.ticker_due = time.monotonic(), False
        return marketdata.ticker(self.market)

    def publish_due_ticker(self) -> None:
        """Send a ticker held back by the once-a-second limit, when its second is up."""
        ticker = self._ticker(Batch())
        if ticker is not None:
            events.publish_batch(
                events.BatchEvents(
                    symbol=self.symbol,
                    book_seq=None,
                    price_places=self.quote_decimals,
                    quantity_places=self.base_decimals,
                    ticker=ticker,
                )
            )

    def _published(self, batch: Batch, trade_ids: list[int]) -> events.BatchEvents:
        levels = {"buy": [], "sell": []}  # type: dict[str, list[tuple[Decimal, Decimal]]]
        for side, ticks in sorted(batch.levels):
            total = self.level_totals.get((side, ticks), 0)
            if total == 0:
                self.level_totals.pop((side, ticks), None)
            levels[side].append((ticks * self.tick, total * self.lot))
        return events.BatchEvents(
            candles=self._candles(batch),
            ticker=self._ticker(batch),
            symbol=self.symbol,
            price_places=self.quote_decimals,
            quantity_places=self.base_decimals,
            book_seq=self.book_seq if batch.levels else None,
            bids=levels["buy"],
            asks=levels["sell"],
            trades=[
                events.TradeEvent(trade_id, price, quantity, taker_side)
                for trade_id, (price, quantity, _n, taker_side, *_parties_and_fees) in zip(
                    trade_ids, batch.trades, strict=True
                )
            ],
            orders=[(o.user_id, o.pk, str(o.status)) for o in batch.touched.values()],
        )
