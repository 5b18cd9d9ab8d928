"""Benchmark the engine worker with persistence on PostgreSQL; write the figures to docs/performance.md.

The figure is what `MarketEngine.run_batch` sustains end to end: fetch the pending commands, match
them, write the batch in one transaction (fencing update, one ledger entry, trades, order updates)
with fsync on, and publish its events. The database is one of its own (`exchange_bench`), created
from a migrated template before every run and dropped at the end, on the server DATABASE_URL names
(--database-url wins) or on the embedded PostgreSQL.

The workload is the matching-core benchmark's (bench/bench_core.py), seeded: limit orders around a
mid price, about 30% of them priced to cross, 1-100 lots; here they come from 50 traders (with the
default self-trade prevention), and the second workload turns 20% of the commands into cancel
requests of random resting orders. All commands are seeded as pending at once, with set-based SQL,
holds and all, then the engine drains them with `run_batch(N)`. The baseline is the same workload's
first --baseline-orders commands with `run_batch(1)`: one transaction per order.

After every run the script checks that the ledger audit passes, that the engine's book equals a
book rebuilt from the database, and that the trades in the database are exactly the fills the pure
matching core produces for the same commands; it fails if any check does not hold.

    .venv/bin/python bench/bench_engine.py [--orders 100000] [--batch-sizes 500,1000,2000,5000]
                                           [--baseline-orders 5000] [--no-write] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import itertools
import math
import os
import platform
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from statistics import median
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench_core import Command, make_workload, write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project is importable

REPORT = ROOT / "docs" / "performance.md"
BENCH_DB = "exchange_bench"
TEMPLATE_DB = "exchange_bench_template"
SYMBOL = "BTC-USDT"
MID = 6_000_000  # ticks of 0.01 USDT: 60,000.00 USDT, so one lot (0.0001 BTC) is over the minimum notional
CROSSING = 0.30
CANCELS = 0.20
TRADERS = 50
QUOTES = '"('  # around a table name in SQL
# The targets (issue 15): at full load (everything pending at once), at least TARGET_RATE commands/s with
# batch p99 under TARGET_FULL_P99_MS and TARGET_RATIO times the baseline; at OFFERED_RATE commands/s
# offered (open loop), batch p99 under TARGET_P99_MS.
TARGET_RATE, TARGET_RATIO, TARGET_P99_MS, TARGET_FULL_P99_MS, OFFERED_RATE = 12_000, 8, 50, 150, 5_000
ADAPTIVE = 0  # the batch size of a run that lets the engine's BatchSizer choose, as the worker does
DEPOSIT = {"USDT": Decimal(100_000_000), "BTC": Decimal(10_000)}  # per trader: more than any workload holds

Fill = tuple[int, int, int, int]  # maker order id, taker order id, price in ticks, quantity in lots


def core_fills(commands: Sequence[Command], order_ids: Sequence[int], user_ids: Sequence[int]) -> list[Fill]:
    """Run the pure matching core over the commands, with the database's ids; return its fills in order."""
    from trading.engine import Algorithm, Order, OrderBook, Side, Trade

    book = OrderBook(Algorithm.FIFO)
    fills: list[Fill] = []
    for index, is_buy, price, quantity, user in commands:
        if quantity:
            side = Side.BUY if is_buy else Side.SELL
            events = book.place(Order(order_ids[index], user_ids[user], side, quantity, price))
        else:
            events = book.cancel(order_ids[index])
        fills.extend((e.maker_order, e.taker_order, e.price, e.quantity) for e in events if isinstance(e, Trade))
    return fills


# --- the database --------------------------------------------------------------------------------


def server_url(explicit: str | None) -> tuple[str, Any]:
    """Return the URL of the server to use (any database on it) and what of the embedded servers this started."""
    url = explicit or os.environ.get("DATABASE_URL", "")
    from exchange import embedded

    if url:
        os.environ["DATABASE_URL"] = url  # so that only Redis may need starting
    started = embedded.start()
    return url or embedded.database_url(), started


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin_execute(url: str, *statements: str) -> None:
    """Run statements outside any transaction on the server's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg

    from exchange.env import parse_database_url

    config = parse_database_url(with_database(url, "postgres"))
    params: dict[str, Any] = {"dbname": "postgres", "user": config.user or None, "host": config.host or None}
    if config.port:
        params["port"] = config.port
    if config.password:
        params["password"] = config.password
    with psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v is not None}) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = with_database(url, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings.test")
    import django

    django.setup()


def build_template(url: str) -> dict[str, str]:
    """Create the bench database, migrate it, add the market and funded traders; keep it as a template.

    Return the server's version and durability settings.
    """
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import User
    from trading.markets import ensure_markets
    from wallets import ledger
    from wallets.assets import ensure_assets
    from wallets.models import AccountKind, Asset, EntryKind

    admin_execute(url, f"DROP DATABASE IF EXISTS {BENCH_DB}", f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
    admin_execute(url, f"CREATE DATABASE {BENCH_DB}")
    call_command("migrate", verbosity=0)
    ensure_assets()
    ensure_markets()
    users = User.objects.bulk_create(
        User(username=f"bench{i:02d}", email=f"bench{i:02d}@example.com", kyc_level=1, kyc_status="approved")
        for i in range(TRADERS)
    )
    assets = {code: Asset.objects.get(code=code) for code in DEPOSIT}
    hot = {code: ledger.account(asset=asset, kind=AccountKind.HOT_WALLET) for code, asset in assets.items()}
    for asset in assets.values():
        ledger.account(asset=asset, kind=AccountKind.FEE_REVENUE)
    # Money arrives as a deposit does: custody in (the hot wallet), owed to the user (available).
    for user in users:
        legs = []
        for code, asset in assets.items():
            available, _locked = ledger.user_accounts(user_id=user.pk, asset=asset)
            legs += [ledger.increase(hot[code], DEPOSIT[code]), ledger.increase(available, DEPOSIT[code])]
        with transaction.atomic():
            ledger.post_entry(kind=EntryKind.DEPOSIT, idempotency_key=f"bench:deposit:{user.pk}", legs=legs)
    facts = server_facts()
    connection.close()
    admin_execute(url, f"ALTER DATABASE {BENCH_DB} RENAME TO {TEMPLATE_DB}")
    return facts


def fresh_database(url: str) -> None:
    from django.db import connection

    connection.close()
    admin_execute(url, f"DROP DATABASE IF EXISTS {BENCH_DB}", f"CREATE DATABASE {BENCH_DB} TEMPLATE {TEMPLATE_DB}")


def drop_databases(url: str) -> None:
    from django.db import connection

    connection.close()
    admin_execute(url, f"DROP DATABASE IF EXISTS {BENCH_DB}", f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")


def server_facts() -> dict[str, str]:
    from django.db import connection

    facts = {}
    with connection.cursor() as cursor:
        for setting in ("server_version", "fsync", "synchronous_commit", "wal_sync_method", "shared_buffers"):
            cursor.execute(f"SHOW {setting}")
            facts[setting] = str(cursor.fetchone()[0])
    return facts


@dataclass
class Seeded:
    market_id: int
    order_ids: list[int]
    user_ids: list[int]
    orders: int
    cancels: int


def seed(commands: Sequence[Command]) -> Seeded:
    """Insert the commands as pending orders and cancel requests, with their holds, in sequence order."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from trading.models import COMMAND_SEQUENCE, Market
    from wallets import ledger
    from wallets.models import EntryKind

    market = Market.objects.select_related("base", "quote").get(symbol=SYMBOL)
    user_ids = list(User.objects.filter(username__startswith="bench").order_by("username").values_list("pk", flat=True))
    orders = [c for c in commands if c[3]]
    holds: dict[tuple[int, bool], Decimal] = defaultdict(Decimal)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('trading_order', 'id')) FROM generate_series(1, %s)", [len(orders)]
        )
        order_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [COMMAND_SEQUENCE, len(commands)])
        seqs = [row[0] for row in cursor.fetchall()]  # one session's nextval: increasing
        seq_of: dict[int, int] = {}
        cancel_seq_of: dict[int, int] = {}
        for (index, _is_buy, _price, quantity, _user), seq in zip(commands, seqs, strict=True):
            (seq_of if quantity else cancel_seq_of)[index] = seq
        prices, quantities, held, sides, users, order_seqs, cancel_seqs = [], [], [], [], [], [], []
        for index, is_buy, ticks, lots, user in orders:
            price, quantity = ticks * market.tick_size, lots * market.lot_size
            hold = price * quantity if is_buy else quantity
            holds[user, is_buy] += hold
            prices.append(price)
            quantities.append(quantity)
            held.append(hold)
            sides.append("buy" if is_buy else "sell")
            users.append(user_ids[user])
            order_seqs.append(seq_of[index])
            cancel_seqs.append(cancel_seq_of.get(index))
        cursor.execute(
            """
            INSERT INTO trading_order (id, seq, market_id, user_id, client_order_id, side, type, price, quantity,
                                       time_in_force, post_only, self_trade_prevention, status, filled_quantity,
                                       filled_quote, fee, held, hold_remaining, cancel_seq, reason, params,
                                       created_at, updated_at)
            SELECT v.id, v.seq, %s, v.user_id, '', v.side, 'limit', v.price, v.quantity, 'GTC', false,
                   'cancel_taker', 'pending', 0, 0, 0, v.held, v.held, v.cancel_seq, '', '{}', %s, %s
              FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::numeric[], %s::numeric[],
                          %s::numeric[], %s::bigint[]) AS v(id, seq, user_id, side, price, quantity, held, cancel_seq)
            """,
            [
                market.pk,
                timezone.now(),
                timezone.now(),
                order_ids,
                order_seqs,
                users,
                sides,
                prices,
                quantities,
                held,
                cancel_seqs,
            ],
        )
        # One entry per trader moves the total of their orders' holds from available to locked.
        for user, user_id in enumerate(user_ids):
            legs = []
            for is_buy, asset in ((True, market.quote), (False, market.base)):
                if holds[user, is_buy]:
                    available, locked = ledger.user_accounts(user_id=user_id, asset=asset)
                    legs += ledger.move(available, locked, holds[user, is_buy])
            if legs:
                ledger.post_entry(kind=EntryKind.HOLD, idempotency_key=f"bench:hold:{user_id}", legs=legs)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE trading_order")  # as autovacuum would have, long before the engine runs
    return Seeded(market.pk, order_ids, user_ids, len(orders), len(commands) - len(orders))


# --- running and checking ------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile (with fewer than 100 values, p99 is the maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else 0.0


@dataclass
class Run:
    workload: str
    batch_size: int
    commands: int = 0
    trades: int = 0
    seconds: float = 0.0
    offered: float = 0.0  # commands/s made available in the open-loop runs; 0: all pending at the start
    latencies_ms: list[float] = field(default_factory=list)  # each run_batch call, wall time
    command_ms: list[float] = field(default_factory=list)  # open loop: each command's arrival to its commit
    engine_ms: list[float] = field(default_factory=list)  # the engine's own figure: match + write + commit
    gc_pauses_ms: list[float] = field(default_factory=list)  # full (generation 2) collections
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        return percentile(self.latencies_ms, share)


class FullCollections:
    """Record the pauses of Python's full garbage collections while in use."""

    def __init__(self, pauses: list[float]) -> None:
        self.pauses = pauses
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self.started = perf_counter()
        else:
            self.pauses.append((perf_counter() - self.started) * 1000)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self)


class Breakdown:
    """Time where a run's batches spend their time: the engine's steps, each SQL statement, the commit.

    Used on one extra run only: it wraps methods (and every statement, through Django's
    execute_wrapper), which costs a little itself.
    """

    STEPS = (  # (label, object, attribute)
        ("fetch the commands", "engine", "fetch_commands"),
        ("match (Python): orders", "engine", "_place"),
        ("match (Python): cancels", "engine", "_cancel"),
        ("write the batch, through its commit", "writer", "write"),
        ("of which: post the ledger entry", "ledger", "post_entry"),
        ("of which: commit (deferred checks, fsync)", "db", "_commit"),
        ("of which: on-commit hooks", "db", "run_and_clear_commit_hooks"),
        ("events: collect", "feed", "batch_events"),
        ("events: hand to the background publisher", "events", "publish_batch"),
        ("(publisher thread) events: serialize", "events", "messages"),
        ("(publisher thread) events: send to Redis", "streams", "publish"),
    )

    def __init__(self, size: int) -> None:
        self.size = size
        self.seconds: dict[str, float] = defaultdict(float)
        self.batches = 0
        self.saved: list[tuple[object, str, Any]] = []

    def _timed(self, label: str, function: Any) -> Any:
        seconds = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[label] += perf_counter() - started

        return timed

    def statement(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        words = sql.split()
        verb = words[0].upper() if words else "?"
        table = next((w for k, w in itertools.pairwise(words) if k.upper() in {"FROM", "INTO", "UPDATE"}), "")
        label = f"SQL: {verb} {table.strip(QUOTES)}".rstrip() if "nextval(" not in sql else "SQL: SELECT nextval"
        started = perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[label] += perf_counter() - started

    def __enter__(self) -> Breakdown:
        from django.db.backends.base.base import BaseDatabaseWrapper

        from exchange.core import streams
        from trading import batch_writer, events, feed, matching
        from wallets import ledger

        owners = {
            "engine": matching.MarketEngine,
            "writer": batch_writer.BatchWriter,
            "feed": feed.Feed,
            "ledger": ledger,
            "db": BaseDatabaseWrapper,
            "events": events,
            "streams": streams,
        }
        for label, owner_name, attribute in self.STEPS:
            owner = owners[owner_name]
            original = getattr(owner, attribute)
            self.saved.append((owner, attribute, original))
            setattr(owner, attribute, self._timed(label, original))
        return self

    def __exit__(self, *_exc: object) -> None:
        for owner, attribute, original in reversed(self.saved):
            setattr(owner, attribute, original)
        self.saved.clear()

    def rows(self) -> list[str]:
        """Return table rows: milliseconds per batch, in the order of a batch; statements by cost."""
        statements = sorted((k for k in self.seconds if k.startswith("SQL:")), key=lambda k: -self.seconds[k])
        order = ["all of run_batch", *(label for label, _, _ in self.STEPS), *statements]
        per_batch = {label: self.seconds[label] * 1000 / max(1, self.batches) for label in order}
        return [f"| {label} | {per_batch[label]:.1f} |" for label in order if per_batch[label] >= 0.05]


def take_over(market_id: int) -> Any:
    """Bump the market's epoch, as a worker taking it over does, and return its engine."""
    from django.db import connection

    from trading.matching import MarketEngine

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE trading_market SET engine_epoch = engine_epoch + 1 WHERE id = %s RETURNING engine_epoch",
            [market_id],
        )
        epoch = cursor.fetchone()[0]
    return MarketEngine(market_id, epoch)


def check(run: Run, engine: Any, seeded: Seeded, commands: Sequence[Command]) -> None:
    """Record in `run.problems` whatever the audit, the rebuilt book or the core's fills disagree on."""
    from django.db import connection

    from trading.matching import MarketEngine
    from wallets.audit import run_audit

    audit = run_audit()
    run.problems += audit.problems
    rebuilt = MarketEngine(seeded.market_id, engine.epoch)
    if rebuilt.book.depth() != engine.book.depth():
        run.problems.append("the engine's book differs from the book rebuilt from the database")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM trading_order WHERE status = 'pending'")
        if pending := cursor.fetchone()[0]:
            run.problems.append(f"{pending} orders still pending")
        cursor.execute(
            "SELECT t.maker_order_id, t.taker_order_id, t.price / m.tick_size, t.quantity / m.lot_size "
            "FROM trading_trade t JOIN trading_market m ON m.id = t.market_id ORDER BY t.id"
        )
        stored = [(maker, taker, int(price), int(quantity)) for maker, taker, price, quantity in cursor.fetchall()]
    expected = core_fills(commands, seeded.order_ids, seeded.user_ids)
    run.trades = len(stored)
    if stored != expected:
        run.problems.append(
            f"trades differ from the core's fills: {len(stored):,} trades / {sum(f[3] for f in stored):,} lots "
            f"in the database, {len(expected):,} / {sum(f[3] for f in expected):,} from the core"
        )


def measure(
    url: str,
    workload: str,
    commands: Sequence[Command],
    batch_size: int,
    *,
    profile: str | None = None,
    breakdown: Breakdown | None = None,
    offered: float = 0.0,
) -> Run:
    """Drain the workload in batches of `batch_size` (ADAPTIVE: as the engine's sizer chooses).

    With `offered`, open loop: command i arrives at i / offered seconds after the start (the commands
    are pending from the start, and a batch may take only those that have arrived), and each command's
    latency is its batch's end minus its arrival.
    """
    from exchange.core import streams
    from trading.matching import keep_survivors_out_of_full_collections

    fresh_database(url)
    seeded = seed(commands)
    engine = take_over(seeded.market_id)
    run = Run(workload, batch_size, offered=offered)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    # What exists now (Django, the workload, the seeded rows) is set aside from the garbage collector,
    # as a worker would after start-up: full collections then scan what the engine builds as it runs.
    gc.collect()
    gc.freeze()
    keep_survivors_out_of_full_collections()  # as the worker does
    try:
        with FullCollections(run.gc_pauses_ms), contextlib.ExitStack() as stack:
            if breakdown:
                from django.db import connection

                stack.enter_context(breakdown)
                stack.enter_context(connection.execute_wrapper(breakdown.statement))
            started = perf_counter()
            if profiler:
                profiler.enable()
            while True:
                limit = batch_size or engine.sizer.limit
                if offered:
                    if run.commands >= len(commands):
                        break
                    arrived = min(len(commands), int((perf_counter() - started) * offered) + 1)
                    if arrived <= run.commands:  # all that arrived is done: wait for the next one
                        time.sleep(max(0.0, started + run.commands / offered - perf_counter()))
                        continue
                    limit = min(limit, arrived - run.commands)
                t0 = perf_counter()
                count = engine.run_batch(limit)
                if not count:
                    break
                t1 = perf_counter()
                run.latencies_ms.append((t1 - t0) * 1000)
                if offered:
                    first = run.commands
                    run.command_ms += [(t1 - started - i / offered) * 1000 for i in range(first, first + count)]
                run.commands += count
            streams.background.flush()  # the run ends when its last events are out, not only committed
            run.seconds = perf_counter() - started
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)
    finally:
        gc.unfreeze()
    run.engine_ms = engine.stats.take().latencies_ms
    if breakdown:
        breakdown.batches = len(run.latencies_ms)
        breakdown.seconds["all of run_batch"] = run.seconds
    check(run, engine, seeded, commands)
    return run


def progress_line(run: Run) -> str:
    size = "adaptive" if run.batch_size == ADAPTIVE else f"{run.batch_size:,}"
    at = f" at {run.offered:,.0f}/s offered" if run.offered else ""
    commands = f" commands p99 {percentile(run.command_ms, 0.99):6.1f} ms" if run.command_ms else ""
    return (
        f"{run.workload:<16} batch {size:<8}{at} {run.commands:>7,} commands {run.rate:>9,.0f}/s "
        f"batch p50 {median(run.latencies_ms):6.1f} p99 {run.percentile(0.99):6.1f} "
        f"max {max(run.latencies_ms):6.1f} ms{commands}  GCs {len(run.gc_pauses_ms)}  {run.trades:,} trades  "
        f"{run.problems or 'ok'}"
    )


def best_of(repeat: int, url: str, workload: str, commands: Sequence[Command], batch_size: int, **kw: Any) -> Run:
    """Measure `repeat` times; return the fastest run (every run is checked, and any problem is kept)."""
    runs = [measure(url, workload, commands, batch_size, **kw) for _ in range(repeat)]
    best = max(runs, key=lambda run: run.rate)
    best.problems = [problem for run in runs for problem in run.problems]
    return best


# --- reporting -----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.machine()


def server_name(url: str) -> str:
    parts = urlsplit(url)
    return "the embedded PostgreSQL (unix socket)" if not parts.hostname else f"PostgreSQL at {parts.hostname}"


def breakdown_text(breakdown: Breakdown | None, args: argparse.Namespace) -> str:
    if breakdown is None or not breakdown.batches:
        return ""
    return f"""
Where a batch's time goes: one more run of the first workload in batches of {breakdown.size:,}, with every
step and SQL statement timed (milliseconds per batch, averaged over its {breakdown.batches} batches; the
timing itself costs a little). "SQL" is each statement's round trip, wherever it ran; the commit runs
the deferred checks (the ledger's balanced-entry trigger, the foreign keys) and the fsync.

| step | ms per batch |
| --- | ---: |
{chr(10).join(breakdown.rows())}
"""


TABLE_HEAD = (
    "| workload | batch size | commands | trades | commands/s | vs baseline | p50 ms | p99 ms | max ms "
    "| engine p50 / p99 ms | full GCs, longest ms |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


OPEN_HEAD = (
    "| workload | offered /s | achieved /s | batches | commands per batch | batch p50 ms | batch p99 ms "
    "| batch max ms | command p50 ms | command p99 ms |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def report(
    *,
    runs: list[Run],
    baselines: dict[str, Run],
    facts: dict[str, str],
    url: str,
    args: argparse.Namespace,
    load: tuple[float, float, float],
    breakdown: Breakdown | None,
) -> str:
    from django.conf import settings

    full = [run for run in runs if not run.offered]
    rows = []
    for run in full:
        base = baselines[run.workload]
        ratio = f"{run.rate / base.rate:.0f}x" if base.rate else "n/a"
        mark = "adaptive (production)" if run.batch_size == ADAPTIVE else f"{run.batch_size:,}"
        pauses = f"{len(run.gc_pauses_ms)}, {max(run.gc_pauses_ms):.0f}" if run.gc_pauses_ms else "0"
        rows.append(
            f"| {run.workload} | {mark} | {run.commands:,} | {run.trades:,} | **{run.rate:,.0f}** | "
            f"{ratio} | {median(run.latencies_ms):.1f} | {run.percentile(0.99):.1f} | {max(run.latencies_ms):.1f} | "
            f"{median(run.engine_ms):.1f} / {percentile(run.engine_ms, 0.99):.1f} | {pauses} |"
        )
    for base in baselines.values():
        rows.append(
            f"| {base.workload} | 1 (baseline) | {base.commands:,} | {base.trades:,} | {base.rate:,.0f} | 1x | "
            f"{median(base.latencies_ms):.1f} | {base.percentile(0.99):.1f} | {max(base.latencies_ms):.1f} | "
            f"{median(base.engine_ms):.1f} / {percentile(base.engine_ms, 0.99):.1f} | - |"
        )
    checks = "all passed" if not any(r.problems for r in [*runs, *baselines.values()]) else "FAILED (see the output)"

    def met(ok: bool) -> str:
        return "met" if ok else "missed"

    verdicts = []
    for run in full:
        if run.batch_size != ADAPTIVE:
            continue
        base = baselines[run.workload]
        verdicts.append(
            f"- {run.workload}, full load, adaptive batches: {run.rate:,.0f} commands/s "
            f"({met(run.rate >= TARGET_RATE)}: at least {TARGET_RATE:,}); {run.rate / base.rate:.0f}x the baseline "
            f"({met(run.rate >= TARGET_RATIO * base.rate)}: at least {TARGET_RATIO}x); p99 of run_batch "
            f"{run.percentile(0.99):.0f} ms ({met(run.percentile(0.99) < TARGET_FULL_P99_MS)}: under "
            f"{TARGET_FULL_P99_MS} ms)"
        )
    open_rows = []
    for run in runs:
        if not run.offered:
            continue
        sizes = run.commands / len(run.latencies_ms) if run.latencies_ms else 0
        open_rows.append(
            f"| {run.workload} | {run.offered:,.0f} | {run.rate:,.0f} | {len(run.latencies_ms):,} | {sizes:,.0f} | "
            f"{median(run.latencies_ms):.1f} | {run.percentile(0.99):.1f} | {max(run.latencies_ms):.1f} | "
            f"{median(run.command_ms):.1f} | {percentile(run.command_ms, 0.99):.1f} |"
        )
        if run.offered == OFFERED_RATE:
            verdicts.append(
                f"- {run.workload}, {run.offered:,.0f} commands/s offered: batch p99 {run.percentile(0.99):.1f} ms "
                f"({met(run.percentile(0.99) < TARGET_P99_MS)}: under {TARGET_P99_MS} ms)"
            )
    return f"""
## Engine worker with persistence

`make bench` (bench/bench_engine.py), {dt.datetime.now(dt.UTC):%Y-%m-%d}: {cpu_model()}, {os.cpu_count()} cores
(load average before the run {" / ".join(f"{x:.1f}" for x in load)}: other work shared the machine),
Python {platform.python_version()}, {server_name(url)} {facts["server_version"]} on the same machine, with
fsync={facts["fsync"]}, synchronous_commit={facts["synchronous_commit"]},
wal_sync_method={facts["wal_sync_method"]}, shared_buffers={facts["shared_buffers"]}.

Commands per second through `MarketEngine.run_batch(N)` until drained: fetch the pending commands, match
them, write the batch in one transaction (fencing update, one ledger entry, trades, order updates,
candles) committed with fsync, then hand its events to the background publisher (a thread that
serializes and sends them to Redis while the next batch runs). "adaptive" lets the engine's BatchSizer
choose N, as the worker does (ENGINE_BATCH_TARGET_MS={settings.ENGINE_BATCH_TARGET_MS}, between
{settings.ENGINE_BATCH_MIN} and {settings.ENGINE_BATCH_SIZE:,} commands). Workload (seed {args.seed}): {args.orders:,}
commands on {SYMBOL}: limit orders around a mid price, {CROSSING:.0%} of them priced to cross, 1-100 lots, from
{TRADERS} traders; the second workload turns {CANCELS:.0%} of the commands into cancel requests. All of them are
pending, holds and all, before the clock starts. Best of {args.repeat} run(s) per line. The baseline is the
same workload's first {args.baseline_orders:,} commands with `run_batch(1)`: one transaction per command.

Latency: the wall time of each `run_batch` call (p50, p99 nearest-rank, max), and the engine's own
figure (what the worker logs: match, write and commit, without the fetch and the publishing). Python's
full garbage collections during the run are counted with the longest; what existed before the clock
started (Django, the workload) was frozen out of them (`gc.freeze()`), as a worker may do after start-up.

{TABLE_HEAD}
{chr(10).join(rows)}

Open loop: command i arrives {{i / rate}} s after the start, and a batch takes only commands that have arrived
(up to the adaptive limit); latency of a command is the end of its batch minus its arrival. The commands
are in the database from the start, so this leaves out the cost of inserting them (the API's, on the same
PostgreSQL) and the NOTIFY that wakes the worker.

{OPEN_HEAD}
{chr(10).join(open_rows)}

Targets: at full load at least {TARGET_RATE:,} commands/s with batch p99 under {TARGET_FULL_P99_MS} ms and
{TARGET_RATIO}x the baseline; at {OFFERED_RATE:,} commands/s offered, batch p99 under {TARGET_P99_MS} ms.
{chr(10).join(verdicts)}

{breakdown_text(breakdown, args)}
Checks after every run ({checks}): the ledger audit passes; the engine's book equals the book rebuilt from
the database's open orders; the trades in the database are exactly the pure matching core's fills
(maker, taker, price, quantity, in order) for the same commands.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="commands per workload")
    parser.add_argument(
        "--batch-sizes", default="0,500,1000,2000", help="comma-separated run_batch sizes; 0: adaptive (the worker's)"
    )
    parser.add_argument(
        "--offered", default=f"2000,{OFFERED_RATE}", help="commands/s offered in the open-loop runs (adaptive batches)"
    )
    parser.add_argument("--baseline-orders", type=int, default=5_000, help="commands in the one-per-batch run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per line; the fastest counts")
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--database-url", help="a server to use (default: DATABASE_URL, else the embedded one)")
    parser.add_argument("--workloads", default="limit,cancels", help="limit, cancels or both")
    parser.add_argument("--profile", help="write a cProfile of the production batch size's run to this prefix")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the instrumented run")
    parser.add_argument("--keep", action="store_true", help="leave the bench databases in place")
    parser.add_argument("--no-write", action="store_true", help=f"print only; leave {REPORT.name} alone")
    args = parser.parse_args(argv)

    url, started = server_url(args.database_url)
    setup_django(url)
    from django.conf import settings

    sizes = [int(size) for size in args.batch_sizes.split(",") if size]
    offered = [float(rate) for rate in args.offered.split(",") if rate]
    names = {"limit": "limit orders", "cancels": f"with {CANCELS:.0%} cancels"}
    shares = {"limit": 0.0, "cancels": CANCELS}
    chosen = [w for w in args.workloads.split(",") if w]
    load_before = os.getloadavg()
    facts: dict[str, str] = {}
    breakdown = None if args.no_breakdown else Breakdown(settings.ENGINE_BATCH_SIZE)
    runs: list[Run] = []
    baselines: dict[str, Run] = {}
    try:
        facts = build_template(url)
        for key in chosen:
            commands = make_workload(args.orders, shares[key], args.seed, mid=MID, traders=TRADERS, first_id=0)
            name = names[key]
            base = best_of(args.repeat, url, name, commands[: args.baseline_orders], 1, profile=None)
            baselines[name] = base
            print(f"{name:<16} batch 1     {base.commands:>7,} commands {base.rate:>9,.0f}/s  {base.problems or 'ok'}")
            for size in sizes:
                profiled = args.profile and size == ADAPTIVE
                profile = f"{args.profile}-{key}-{size}.prof" if profiled else None
                run = best_of(args.repeat, url, name, commands, size, profile=profile)
                runs.append(run)
                print(progress_line(run))
            for rate in offered:
                run = measure(url, name, commands, ADAPTIVE, offered=rate)
                runs.append(run)
                print(progress_line(run))
            if breakdown and not breakdown.batches:
                instrumented = measure(url, name, commands, breakdown.size, breakdown=breakdown)
                if instrumented.problems:
                    runs.append(instrumented)  # so that the failure is reported
    finally:
        if not args.keep:
            drop_databases(url)
        if started is not None:
            from exchange import embedded

            embedded.stop(started)
    body = report(
        runs=runs, baselines=baselines, facts=facts, url=url, args=args, load=load_before, breakdown=breakdown
    )
    print(body)
    failed = any(run.problems for run in [*runs, *baselines.values()])
    if not args.no_write and not failed:
        write_section(REPORT, "engine", body)
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
