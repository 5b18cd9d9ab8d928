"""Benchmark the matching core against pyorderbook and cython-orderbook; write the figures to docs/performance.md.

The workload is seeded, so every run and every engine sees the same commands: limit orders around a
mid price, about 30% of them marketable, sizes of 1-100 lots, each from a user of its own (the peers
have no self-trade prevention). The second workload turns 20% of the commands into cancels of
random resting orders. The figure is commands per second of process CPU time (so that other work on
the machine does not count), order objects built inside the timing, best of --repeat runs. Every
FIFO engine must produce the same fills as ours, or the script fails.

    .venv/bin/python bench/bench_core.py [--orders 100000] [--repeat 5] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from time import process_time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the engine lives in the project

from trading.engine import Algorithm, Order, OrderBook, Side, Trade  # noqa: E402

REPORT = ROOT / "docs" / "performance.md"
MID = 10_000  # ticks
CROSSING = 0.30
CANCELS = 0.20

# (order id, is a buy, price in ticks, quantity in lots, user); quantity 0 means "cancel order id".
Command = tuple[int, bool, int, int, int]
Fill = tuple[int, int, int, int]  # maker order, taker order, price, quantity
Runner = Callable[[Sequence[Command], list[Fill] | None], float]


def make_workload(
    count: int, cancel_share: float, seed: int, *, mid: int = MID, traders: int | None = None, first_id: int = 1
) -> list[Command]:
    """Return `count` commands; resting orders sit 0-49 ticks off the mid, takers cross by up to 5.

    By default each order has a user of its own (the peers have no self-trade prevention); with
    `traders`, users are drawn from that many (bench_engine.py), and the book follows their self-trades.
    """
    rng = random.Random(seed)  # noqa: S311  (a repeatable workload, not a secret)
    # A FIFO book follows the workload only so that cancels pick orders that are resting right then.
    book = OrderBook(Algorithm.FIFO)
    resting: list[int] = []
    commands: list[Command] = []
    next_id = first_id
    while len(commands) < count:
        if resting and rng.random() < cancel_share:
            while resting:
                i = rng.randrange(len(resting))
                order_id = resting[i]
                resting[i] = resting[-1]
                resting.pop()
                if order_id in book.orders:  # not filled since
                    book.cancel(order_id)
                    commands.append((order_id, False, 0, 0, -1))
                    break
            continue
        is_buy = rng.random() < 0.5
        offset = -rng.randint(0, 4) if rng.random() < CROSSING else rng.randint(0, 49)
        price = mid - offset if is_buy else mid + 1 + offset
        quantity = rng.randint(1, 100)
        user = next_id if traders is None else rng.randrange(traders)
        side = Side.BUY if is_buy else Side.SELL
        book.place(Order(next_id, user, side, quantity, price))
        if next_id in book.orders:
            resting.append(next_id)
        commands.append((next_id, is_buy, price, quantity, user))
        next_id += 1
    return commands


# --- the engines ---------------------------------------------------------------------------------


def ours(algorithm: Algorithm) -> Runner:
    def run(commands: Sequence[Command], fills: list[Fill] | None) -> float:
        book = OrderBook(algorithm)
        place, cancel = book.place, book.cancel
        buy, sell = Side.BUY, Side.SELL
        start = process_time()
        for order_id, is_buy, price, quantity, _user in commands:
            if quantity:
                events = place(Order(order_id, order_id, buy if is_buy else sell, quantity, price))
            else:
                events = cancel(order_id)
            if fills is not None:
                fills.extend((e.maker_order, e.taker_order, e.price, e.quantity) for e in events if type(e) is Trade)
        return process_time() - start

    return run


def pyorderbook_runner() -> Runner:
    import pyorderbook  # type: ignore[import-untyped]

    def run(commands: Sequence[Command], fills: list[Fill] | None) -> float:
        book = pyorderbook.Book()
        match, cancel, new_order = book.match, book.cancel, pyorderbook.Order
        bid, ask = pyorderbook.Side.BID, pyorderbook.Side.ASK
        handles: dict[int, object] = {}  # its orders are cancelled by object, and carry a random UUID
        ours_by_uuid: dict[object, int] = {}
        start = process_time()
        for order_id, is_buy, price, quantity, _user in commands:
            if quantity:
                order = handles[order_id] = new_order(bid if is_buy else ask, "X", price, quantity)
                blotter = match(order)
                if fills is not None:
                    ours_by_uuid[order.id] = order_id
                    fills.extend(
                        (ours_by_uuid[t.standing_order_id], order_id, int(t.fill_price), t.fill_quantity)
                        for t in blotter.trades
                    )
            else:
                cancel(handles[order_id])
        return process_time() - start

    return run


def cython_orderbook_runner() -> Runner:
    import cython_orderbook  # type: ignore[import-untyped]

    def run(commands: Sequence[Command], fills: list[Fill] | None) -> float:
        book = cython_orderbook.OrderBook()
        add, cancel, new_order = book.add_limit_order, book.cancel_order, cython_orderbook.Order
        bid, ask = cython_orderbook.OrderSide.BID, cython_orderbook.OrderSide.ASK
        handles: dict[int, str] = {}  # its order ids come from a global counter
        start = process_time()
        for order_id, is_buy, price, quantity, _user in commands:
            if quantity:
                order = new_order(bid if is_buy else ask, quantity, price)
                handles[order_id] = order.order_id
                add(order)
            else:
                cancel(handles[order_id])
        elapsed = process_time() - start
        if fills is not None:
            ours_by_theirs = {theirs: mine for mine, theirs in handles.items()}
            for t in book.trade_log:  # handles maps every order it ever saw
                fills.append((ours_by_theirs[t.filler_id], ours_by_theirs[t.aggressor_id], t.price, t.quantity_filled))
        return elapsed

    return run


@dataclass
class Engine:
    name: str
    package: str | None  # the PyPI distribution, for its version; None for ours
    algorithm: Algorithm
    make: Callable[[], Runner]


ENGINES = [
    Engine("ours", None, Algorithm.FIFO, lambda: ours(Algorithm.FIFO)),
    Engine("ours", None, Algorithm.PRO_RATA, lambda: ours(Algorithm.PRO_RATA)),
    Engine("pyorderbook", "pyorderbook", Algorithm.FIFO, pyorderbook_runner),
    Engine("cython-orderbook", "cython-orderbook", Algorithm.FIFO, cython_orderbook_runner),
]


# --- measuring and reporting ---------------------------------------------------------------------


def best_rate(run: Runner, commands: Sequence[Command], repeat: int) -> float:
    """Return the best commands per second over `repeat` runs, each on a fresh book."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        best = min(best, run(commands, None))
    return len(commands) / best


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.machine()


def package_version(package: str | None) -> str:
    if package is None:
        return "this tree"
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


INTRO = """# Performance

Figures written by the benchmark scripts in `bench/` (`make bench`); each script rewrites only its own
section, with the machine and the date it ran on. Targets are met here, never as timed assertions in the
test suite.
"""


def write_section(path: Path, key: str, body: str) -> None:
    """Replace the text between `<!-- bench:KEY:start -->` and `<!-- bench:KEY:end -->`, or append it.

    Each benchmark script owns one section of docs/performance.md and rewrites only that.
    """
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else INTRO
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def fmt(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:,.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="commands per workload")
    parser.add_argument("--repeat", type=int, default=5, help="runs per engine and workload; the best counts")
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--no-write", action="store_true", help=f"print only; leave {REPORT.name} alone")
    args = parser.parse_args(argv)
    load = os.getloadavg()

    workloads = {
        "limit orders": make_workload(args.orders, 0.0, args.seed),
        f"with {CANCELS:.0%} cancels": make_workload(args.orders, CANCELS, args.seed),
    }
    rates: dict[tuple[int, str], float] = {}
    checks: dict[tuple[int, str], str] = {}
    failed = False
    for name, commands in workloads.items():
        reference: list[Fill] = []
        ours(Algorithm.FIFO)(commands, reference)
        volume = sum(f[3] for f in reference)
        for i, engine in enumerate(ENGINES):
            run = engine.make()
            fills: list[Fill] = []
            run(commands, fills)
            if engine.algorithm is Algorithm.PRO_RATA:
                checks[i, name] = f"{len(fills):,} fills, {sum(f[3] for f in fills):,} lots (pro-rata: not compared)"
            elif fills == reference:
                checks[i, name] = f"same {len(fills):,} fills (maker, taker, price, qty), {volume:,} lots"
            else:
                failed = True
                checks[i, name] = f"DIFFERENT: {len(fills):,} fills, {sum(f[3] for f in fills):,} lots"
            rates[i, name] = best_rate(run, commands, args.repeat)
            print(f"{engine.name:<17} {engine.algorithm:<9} {name:<18} {fmt(rates[i, name]):>10} /s  {checks[i, name]}")

    names = list(workloads)
    rows = [
        f"| {e.name} | {package_version(e.package)} | {e.algorithm} | "
        + " | ".join(fmt(rates.get((i, n))) for n in names)
        + " |"
        for i, e in enumerate(ENGINES)
    ]
    peers = [i for i, e in enumerate(ENGINES) if e.algorithm is Algorithm.FIFO and e.package]
    check_lines = [f"- {ENGINES[i].name}, {n}: {checks[i, n]}" for i in peers for n in names]
    cython = next(i for i, e in enumerate(ENGINES) if e.package == "cython-orderbook")
    ratios = ", ".join(f"{rates[0, n] / rates[cython, n]:.1f}x ({n})" for n in names)
    shares = ", ".join(f"{rates[1, n] / rates[0, n]:.0%} ({n})" for n in names)
    body = f"""
## Matching core

`make bench` (bench/bench_core.py), {dt.datetime.now(dt.UTC):%Y-%m-%d}: {cpu_model()}, {os.cpu_count()} cores
(load average before the run {" / ".join(f"{x:.1f}" for x in load)}), Python {platform.python_version()}.

Commands per second of CPU time, best of {args.repeat} runs of {args.orders:,} commands each, order
objects built inside the timing. Workload (seed {args.seed}): limit orders around a mid price, {CROSSING:.0%}
of them priced to cross, 1-100 lots, one user per order; the second column turns {CANCELS:.0%} of the
commands into cancels of random resting orders. Both peers can express every command here.

| engine | version | algorithm | {" | ".join(names)} |
| --- | --- | --- | {" | ".join("---:" for _ in names)} |
{chr(10).join(rows)}

Our FIFO core against cython-orderbook: {ratios}.
Our pro-rata core against our FIFO core: {shares}.
It makes more, smaller fills: the lots left over after the proportional shares go one each to the
oldest makers.

Fills, checked against our FIFO core's on every run:
{chr(10).join(check_lines)}
"""
    print(body)
    if not args.no_write:
        write_section(REPORT, "core", body)
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
