"""The engine's Django side for one market: rebuild the book, take commands in sequence, settle each batch.

`MarketEngine.run_batch` reads up to `limit` pending commands (new orders and cancel requests) in
`seq` order and runs them through the pure core (`trading.engine`): each order's type turns it into
the book's terms (`trading.order_types`), the book matches it, and settlement
(`trading.engine.settlement`) turns the book's events into the batch's balance changes, fills and
statuses. A type that waits off the book (a stop) is held by its engine part until a trade releases
it, in the same batch. The batch writer (`trading.batch_writer`) then writes everything the batch
caused in one transaction, fenced by `engine_epoch`, and only after the commit does the feed
(`trading.feed`) publish its events. If anything fails, the in-memory book is thrown away and
rebuilt from the database, which is always the truth.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction

from exchange.core.money import MONEY
from trading import events, order_types
from trading.batch_writer import BatchWriter
from trading.engine import Algorithm as EngineAlgorithm
from trading.engine import Done, DoneReason, OrderBook, Rested
from trading.engine import Order as EngineOrder
from trading.engine.settlement import NO_PARAMS, REJECTED, Batch, Live, Settlement
from trading.engine.spec import Inexact, MarketSpec
from trading.feed import Feed
from trading.models import LIVE_STATUSES, Market, OrderStatus

logger = logging.getLogger(__name__)


class OrderRow(NamedTuple):
    """What the engine reads of an order: the row of `SELECT ORDER_COLUMNS`, by name."""

    id: int
    user_id: int
    side: str
    type: str
    price: Decimal | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    time_in_force: str
    post_only: bool
    self_trade_prevention: str
    hold_remaining: Decimal
    filled_quantity: Decimal
    filled_quote: Decimal
    fee: Decimal
    status: str
    params: str  # JSON text
    seq: int


ORDER_COLUMNS = OrderRow._fields
# The params as text: decoded only when not empty (most orders have none).
COLUMNS = ", ".join("params::text" if name == "params" else name for name in ORDER_COLUMNS)
# Both reads must walk a partial index (trading_order_pending, trading_order_cancel_pending) in order
# and stop after `limit` rows, whatever the statistics say; fetch_commands switches bitmap scans off,
# which otherwise read and sort every pending command (when statistics say few are pending: tens of
# ms per batch under a backlog of 100k). The market id as a range, not an equality, keeps the unique
# index on seq from serving the ORDER BY (when statistics say most orders are pending, the planner
# took it, and each batch then stepped over every order already processed).
PENDING_TEMPLATE = (
    "SELECT COLUMNS FROM trading_order WHERE market_id BETWEEN %(market)s AND %(market)s AND status = 'pending' "
    "ORDER BY market_id, seq LIMIT %(limit)s"
)
PENDING_SQL = PENDING_TEMPLATE.replace("COLUMNS", COLUMNS)
CANCELS_SQL = (
    "SELECT id, cancel_seq FROM trading_order WHERE market_id = %s AND cancel_seq IS NOT NULL "
    "AND status = ANY(%s) ORDER BY cancel_seq LIMIT %s"
)
# The orders on the book, and those their type's engine part keeps waiting off it.
RESTING_TEMPLATE = (
    "SELECT COLUMNS FROM trading_order "
    "WHERE market_id = %s AND status IN ('open', 'partially_filled', 'untriggered') ORDER BY seq"
)
RESTING_SQL = RESTING_TEMPLATE.replace("COLUMNS", COLUMNS)
UNTRIGGERED = str(OrderStatus.UNTRIGGERED)

Command = tuple[int, OrderRow | None, int]  # (seq, the order's row or None for a cancel, the order's id)


def live_order(row: OrderRow) -> Live:
    params = row.params
    return Live(
        pk=row.id,
        user_id=row.user_id,
        side=row.side,
        type=row.type,
        price=row.price,
        quantity=row.quantity,
        quote_sized=row.quote_quantity is not None,
        time_in_force=row.time_in_force,
        post_only=row.post_only,
        self_trade=row.self_trade_prevention,
        hold_remaining=row.hold_remaining,
        filled_quantity=row.filled_quantity,
        filled_quote=row.filled_quote,
        fee=row.fee,
        status=row.status,
        params=NO_PARAMS if params == "{}" else json.loads(params),
    )


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def keep_survivors_out_of_full_collections() -> None:
    """After each full garbage collection, freeze what survived it (the engine process's policy).

    The book's orders live long, and a full collection walks every object not frozen: with tens of
    thousands of resting orders, a pause of 50-120 ms inside a batch. Frozen, they are skipped; they
    are still freed when their last reference goes (reference counting), and the engine's objects form
    no cycles that only the collector could free. Each full pass then walks only what is newer.
    """
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


class BookCorrupt(Exception):
    """The open orders in the database cross each other: nothing can be matched safely."""


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


class BatchSizer:
    """How many commands the next batch may take, so that a backlog is worked off in batches of about
    `target_ms` each: large enough to spread a batch's fixed costs (the commit's fsync, the fencing
    update, the ledger entry) over many commands, small enough that no command waits long for its batch.

    What would have fit is the batch's commands scaled by target / its time: as if every millisecond
    were per command, which underestimates (a batch has fixed costs), so growing toward it never
    overshoots the target and converges on it. Only a batch the limit cut short (a backlog) makes the
    limit grow, by at most a quarter at a time; a batch over the target shrinks it to what would have
    fit. Under light load a batch takes the few commands there are, whatever the limit.
    """

    GROWTH = 1.25

    def __init__(self, target_ms: float, minimum: int, maximum: int) -> None:
        self.target_ms = target_ms
        self.minimum = max(1, min(minimum, maximum))
        self.maximum = maximum
        self.limit = self.minimum

    def record(self, commands: int, elapsed_ms: float) -> None:
        fits = int(commands * self.target_ms / elapsed_ms) if elapsed_ms > 0 else self.maximum
        if elapsed_ms > self.target_ms:
            self.limit = max(self.minimum, min(self.limit, fits))
        elif commands >= self.limit:
            grown = max(self.limit + 1, min(int(self.limit * self.GROWTH), fits))
            self.limit = min(self.maximum, grown)


class MarketEngine:
    def __init__(self, market_id: int, epoch: int) -> None:
        self.market_id = market_id
        self.epoch = epoch
        self.stats = Stats()
        self.sizer = BatchSizer(settings.ENGINE_BATCH_TARGET_MS, settings.ENGINE_BATCH_MIN, settings.ENGINE_BATCH_SIZE)
        self.load_market()
        self.rebuild()

    # --- state from the database ------------------------------------------------------------------

    def load_market(self) -> None:
        market = Market.objects.select_related("base", "quote").get(pk=self.market_id)
        self.symbol = market.symbol
        self.spec = MarketSpec(
            symbol=market.symbol,
            tick=market.tick_size,
            lot=market.lot_size,
            base=market.base_id,
            quote=market.quote_id,
            base_quantum=market.base.quantum,
            quote_quantum=market.quote.quantum,
            maker_rate=market.maker_fee_rate,
            taker_rate=market.taker_fee_rate,
        )
        self.algorithm = EngineAlgorithm(market.algorithm)
        self.book_seq = market.book_seq
        self.writer = BatchWriter(self.market_id, market.symbol, (market.base_id, market.quote_id), self.epoch)
        self.feed = Feed(market)

    def rebuild(self) -> None:
        """Drop the in-memory book and build it again from the open orders, in sequence order."""
        self.stale = True
        self.book = OrderBook(self.algorithm)
        self.settlement = Settlement(self.spec, self._expiry)
        self.parts = order_types.EngineParts(self.spec)
        with connection.cursor() as cursor:
            cursor.execute("SELECT book_seq, last_price FROM trading_market WHERE id = %s", [self.market_id])
            self.book_seq, last_price = cursor.fetchone()
            cursor.execute(RESTING_SQL, [self.market_id])
            rows = [OrderRow._make(row) for row in cursor.fetchall()]
        # What a waiting order's condition compares with; a price is on the tick unless the tick changed.
        self.last_ticks = None if last_price is None else int(last_price // self.spec.tick)
        with localcontext(MONEY):
            for row in rows:
                self._restore(live_order(row))
        self.stale = False
        # The book is long-lived: keep its objects out of the collector's full passes, which would
        # otherwise walk every resting order a few times per 100k commands (100-250 ms pauses).
        gc.freeze()
        logger.info("engine %s: book rebuilt with %d open orders (book seq %d)", self.symbol, len(rows), self.book_seq)

    def _restore(self, live: Live) -> None:
        try:
            order = order_types.KINDS[live.type].engine_order(live, self.spec)
        except (KeyError, Inexact) as error:
            raise BookCorrupt(f"{self.symbol}: open order {live.pk} cannot be read back: {error!r}") from error
        if live.status == UNTRIGGERED:
            if not self.parts.restore(live.type, order, live.params):
                raise BookCorrupt(f"{self.symbol}: order {live.pk} waits, but no {live.type} part holds it")
            self.settlement.live[live.pk] = live
            return
        events = self.book.place(order)
        if len(events) != 1 or not isinstance(events[0], Rested):
            raise BookCorrupt(f"{self.symbol}: open order {live.pk} crosses the book in the database")
        self.settlement.rested(live, order.quantity)

    def _expiry(self, live: Live) -> tuple[str, str]:
        return order_types.KINDS[live.type].expiry(live, self.spec)

    # --- one batch --------------------------------------------------------------------------------

    def fetch_commands(self, limit: int) -> list[Command]:
        """Return up to `limit` commands as (seq, order row or None for a cancel, order id), in seq order."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")  # see PENDING_SQL
            cursor.execute(PENDING_SQL, {"market": self.market_id, "limit": limit})
            orders = [OrderRow._make(row) for row in cursor.fetchall()]
            cursor.execute(CANCELS_SQL, [self.market_id, list(LIVE_STATUSES), limit])
            cancels = cursor.fetchall()
            cursor.execute("SET LOCAL enable_bitmapscan TO DEFAULT")  # when this was a savepoint, not a transaction
        commands: list[Command] = [(row.seq, row, row.id) for row in orders]
        commands += [(seq, None, pk) for pk, seq in cancels]
        commands.sort(key=lambda command: command[0])
        # A full list may continue past what the other holds: stop where both are complete.
        ends = []
        if len(orders) == limit:
            ends.append(orders[-1].seq)
        if len(cancels) == limit:
            ends.append(cancels[-1][1])
        if ends:
            cut = min(ends)
            commands = [command for command in commands if command[0] <= cut]
        return commands[:limit]

    def run_batch(self, limit: int) -> int:
        """Process up to `limit` commands (the worker passes its sizer's limit); return how many.

        Raises Fenced when the market was taken over.
        """
        if self.stale:
            self.rebuild()
        fetched = time.perf_counter()
        commands = self.fetch_commands(limit)
        if not commands:
            self.feed.publish_due_ticker()
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
                written = self.writer.write(batch)
        except BaseException:
            self.stale = True  # the book may hold part of the batch: the database has the truth
            raise
        self.book_seq = written.book_seq
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.stats.batches += 1
        self.stats.commands += batch.commands
        self.stats.trades += len(batch.trades)
        self.stats.latencies_ms.append(elapsed_ms)
        events.publish_batch(self.feed.batch_events(batch, written, self.settlement.level_totals))
        self.sizer.record(batch.commands, (time.perf_counter() - fetched) * 1000)
        return batch.commands

    def _place(self, row: OrderRow, batch: Batch) -> None:
        live = live_order(row)
        batch.touched[live.pk] = live
        try:
            order = order_types.KINDS[live.type].engine_order(live, self.spec)
        except (KeyError, Inexact):
            # Validated against the market when placed: only a type gone or a tick or lot changed since.
            logger.exception("engine %s: order %d cannot be taken; rejected", self.symbol, live.pk)
            live.status, live.reason = REJECTED, "market_changed"
            self.settlement.release(live, live.hold_remaining, batch)
            return
        self.settlement.live[live.pk] = live
        if self.parts.take(live.type, order, live.params, self.last_ticks):
            live.status = self.parts.waiting_status(live.type) or UNTRIGGERED
            return
        self._enter(live, order, batch)

    def _enter(self, live: Live, order: EngineOrder, batch: Batch) -> None:
        """Put an order to the book; after each that traded, the waiting orders it released, in turn."""
        settlement = self.settlement
        queue: deque[EngineOrder] | None = None
        while True:
            traded = len(batch.trades)
            for event in self.book.place(order):
                settlement.apply(event, batch, taker=live)
            settlement.release_excess(live, batch)
            if len(batch.trades) > traded:
                self.last_ticks = live.last_price_ticks
                released = self.parts.released(live.last_price_ticks)
                if released:
                    queue = queue or deque()
                    queue.extend(released)
            if not queue:
                return
            order = queue.popleft()
            live = settlement.live[order.id]
            batch.touched[live.pk] = live

    def _cancel(self, pk: int, batch: Batch) -> None:
        produced = self.book.cancel(pk)
        if not produced:
            if self.parts.cancel(pk):  # it was waiting off the book
                live = self.settlement.live[pk]
                lots = 0 if live.quantity is None else self.spec.lots(live.quantity - live.filled_quantity)
                produced = [Done(pk, DoneReason.CANCELLED, lots)]
            else:
                known = self.settlement.live.get(pk) or batch.touched.get(pk)
                if known is None or known.status in LIVE_STATUSES:
                    # Live in the database but not on the book: the two disagree; rebuild and try again.
                    raise BookCorrupt(f"{self.symbol}: cancel of order {pk}, which is not on the book")
        for event in produced:
            self.settlement.apply(event, batch, taker=None)
