"""Benchmark /ws/stream fan-out to 1,000 subscribers; compare a minimal `websockets` broadcast server.

The target (the streams issue): with 1,000 WebSocket subscribers to one market's book and trades and
the demo market maker producing at least 20 book updates a second, delivery latency from engine
commit to client receipt has p99 under 100 ms, with no dropped or out-of-order message.

The real system runs as subprocesses on a database of its own (`exchange_bench_streams`, created, migrated
and dropped by the script on the server DATABASE_URL names, or on the embedded PostgreSQL) and a
channel-layer prefix of its own on the usual Redis: `run_matching_engine`, `simulate_market` on BTC-USDT,
and the servers of /ws/stream in turn: the stream server (`manage.py run_stream_server`, what `make run` and
compose serve it with), daphne (one process, then two on different ports with the clients split between
them) and uvicorn. Client processes (the `websockets` library, asyncio) open the connections and subscribe
each one to `book:BTC-USDT` and `trades:BTC-USDT`; every client checks that its deltas' `seq` follows its
snapshot's one by one (a gap, a repeat or a second snapshot counts against the run) and that trade ids
increase, and, after the market maker stops and the engine has drained, that it has the last `seq` and every
trade in the database since its first. The window opens once every client has its snapshot (clients connect
20 at a time and make a refused handshake again, as browsers do), so it measures delivery, not the
connection storm, whose length is reported beside it. Latency is receipt time minus `ts`, the engine's
commit time (one machine, one clock), over the window only. CPU is read per process: servers, clients,
engine, market maker, PostgreSQL, Redis and the rest.

The baseline is a minimal `websockets` server in this script: it makes the same kinds of messages, of the
sizes and at the rates measured on the stream server's run, in-process with its own `seq` and `ts`, and hands
each to every subscriber with `websockets.broadcast`; the same clients measure it.

    .venv/bin/python bench/bench_streams.py [--clients 1000] [--seconds 30] [--daphnes 1,2]
        [--client-processes 2] [--interval 0.01] [--no-baseline] [--no-write] [--database-url URL]
        [--no-pin] [--profile DIR]   # py-spy (if on PATH) records each server over the window

After the runs on shared CPUs it runs the stream server, one daphne, uvicorn and the baseline again with
the server pinned to a CPU of its own and the rest of the benchmark on the others (--no-pin leaves those
out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPORT = ROOT / "docs" / "performance.md"
BENCH_DB = "exchange_bench_streams"
SYMBOL = "BTC-USDT"
HANDSHAKES_AT_ONCE = 20
TARGET_P99_MS = 100
TARGET_RATE = 20  # book deltas per second
TARGET_CLIENTS = 1000
TARGET_THROUGHPUT = 0.7  # the stream server's messages/s against the minimal broadcaster's
CLIENT_CPU_LIMIT = 70  # % of a core: a client process above it may delay what it measures
CONNECT_ATTEMPTS = 5
# uvicorn as bench/requirements.txt pins it, with the websockets protocol and, as daphne, no compression.
UVICORN = ["--ws", "websockets", "--ws-per-message-deflate", "false", "--lifespan", "off", "--log-level", "warning"]
PINNED = ", pinned"  # the server on a CPU of its own, the rest of the benchmark on the others
SIZE_SAMPLES = 10  # message sizes kept per client
SETTLE_SECONDS = 4.0  # after the window: the market maker stops, the engine drains, the last messages arrive


# --- the clients (a process of its own: `bench_streams.py client ...`) ----------------------------


@dataclass
class Client:
    """What one connection saw."""

    snapshot_seq: int | None = None
    last_seq: int | None = None
    snapshots: int = 0
    deltas: int = 0
    gaps: int = 0  # a delta whose seq skipped some: messages dropped
    disorder: int = 0  # a delta at or before the last seq, or a trade id not above the last
    first_trade: int | None = None
    last_trade: int | None = None
    trades: int = 0
    errors: int = 0
    connected: bool = False
    failed: bool = False
    retries: int = 0
    window_deltas: int = 0
    window_trades: int = 0


@dataclass
class Plan:
    """The measurement window, which the controller sets once every client has its snapshot."""

    start: float = math.inf
    end: float = math.inf
    until: float = math.inf  # the clients report and close, having had the last messages

    @classmethod
    async def wait(cls, control: Path) -> Plan:
        path = control / "window.json"
        while not path.exists():
            await asyncio.sleep(0.1)
        return cls(**json.loads(path.read_text()))


async def run_client(url: str, client: Client, plan: Plan, latencies: array[float], sizes: list[int]) -> None:
    from websockets.asyncio.client import connect

    host = url.split("//", 1)[1].split("/", 1)[0]
    options: dict[str, Any] = {"compression": None, "ping_interval": None, "max_queue": None, "close_timeout": 1}
    async with connect(url, origin=f"http://{host}", open_timeout=120, **options) as ws:  # type: ignore[arg-type]
        client.connected = True
        await ws.send(json.dumps({"op": "subscribe", "channels": [f"book:{SYMBOL}", f"trades:{SYMBOL}"]}))
        async for text in ws:
            now = time.time()
            message = json.loads(text)
            kind = message["type"]
            if kind == "book.delta":
                seq = message["seq"]
                last = client.last_seq
                if last is None or seq <= last:
                    client.disorder += 1
                elif seq != last + 1:
                    client.gaps += 1
                client.last_seq = seq if last is None else max(seq, last)
                client.deltas += 1
            elif kind == "trades":
                for trade in message["trades"]:
                    if client.last_trade is not None and trade["id"] <= client.last_trade:
                        client.disorder += 1
                    client.first_trade = client.first_trade or trade["id"]
                    client.last_trade = trade["id"]
                    client.trades += 1
            elif kind == "book.snapshot":
                client.snapshots += 1  # more than one: the server saw a gap and started the book again
                client.snapshot_seq = client.snapshot_seq or message["seq"]
                client.last_seq = message["seq"]
                continue
            else:
                client.errors += kind == "error"
                continue
            if plan.start <= now < plan.end:
                latencies.append(now * 1000 - message["ts"])
                if kind == "book.delta":
                    client.window_deltas += 1
                else:
                    client.window_trades += 1
                if client.window_deltas + client.window_trades <= SIZE_SAMPLES:
                    sizes.append(len(text) if kind == "book.delta" else -len(text))


async def run_clients(args: argparse.Namespace) -> None:
    """Connect and subscribe; say when every client has its snapshot; measure the window; report."""
    urls = args.url.split(",")
    control, out = Path(args.control), Path(args.out)
    clients = [Client() for _ in range(args.count)]
    plan = Plan()
    latencies: array[float] = array("d")
    sizes: list[int] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)

    async def one(i: int) -> None:
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                async with gate:  # a few handshakes at a time, as clients arriving over a few seconds
                    task = asyncio.ensure_future(run_client(urls[i % len(urls)], clients[i], plan, latencies, sizes))
                    while not (clients[i].connected or task.done()):
                        await asyncio.sleep(0.01)
                await task
                return
            except Exception as error:
                if clients[i].connected or attempt == CONNECT_ATTEMPTS:
                    failures.append(repr(error))
                    clients[i].failed = True
                    return
                clients[i].retries += 1  # the server refused the handshake (too slow): try again, as browsers do
                await asyncio.sleep(attempt)

    started = time.process_time()
    tasks = [asyncio.ensure_future(one(i)) for i in range(args.count)]
    while not all(c.snapshots or c.failed for c in clients):
        await asyncio.sleep(0.1)
    (control / f"ready-{out.stem}").write_text(str(sum(1 for c in clients if c.snapshots)))
    plan.__dict__.update(vars(await Plan.wait(control)))
    await asyncio.sleep(max(0.0, plan.until - time.time()))
    out.with_suffix(".bin").write_bytes(latencies.tobytes())
    summary = {
        "clients": [vars(c) for c in clients],
        "sizes": sizes,
        "failures": failures[:5],
        "failed": len(failures),
        "cpu_seconds": time.process_time() - started,
    }
    out.write_text(json.dumps(summary))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- the baseline server (a process of its own: `bench_streams.py baseline ...`) -----------------


def fake_levels(rng: random.Random, size: int, head: int) -> list[list[str]]:
    """Price levels whose JSON brings a message of `head` characters up to about `size`."""
    levels: list[list[str]] = []
    while head + len(json.dumps(levels)) < size:
        levels.append([f"{rng.uniform(59_000, 61_000):.6f}", f"{rng.uniform(0, 2):.8f}"])
    return levels


async def run_baseline(args: argparse.Namespace) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    subscribers: set[ServerConnection] = set()
    rng = random.Random(1)  # noqa: S311 (fake prices)
    seq, trade_id = 0, 0

    async def handler(ws: ServerConnection) -> None:
        request = json.loads(await ws.recv())
        for channel in request["channels"]:
            await ws.send(json.dumps({"type": "subscribed", "channel": channel}))
        # Snapshot and subscription in one step, with no await between: the next delta follows it.
        broadcast([ws], json.dumps({"type": "book.snapshot", "channel": f"book:{SYMBOL}", "seq": seq}))
        subscribers.add(ws)
        try:
            await ws.wait_closed()
        finally:
            subscribers.discard(ws)

    def delta() -> str:
        ts = round(time.time() * 1000, 3)
        head = f'{{"type": "book.delta", "channel": "book:{SYMBOL}", "symbol": "{SYMBOL}", "seq": {seq}, "ts": {ts}, '
        bids = fake_levels(rng, (args.delta_size - len(head)) // 2 + len(head), len(head))
        body = {"type": "book.delta", "channel": f"book:{SYMBOL}", "symbol": SYMBOL, "seq": seq, "ts": ts}
        return json.dumps(body | {"bids": bids, "asks": bids[: len(bids) // 2]})

    def trades() -> str:
        nonlocal trade_id
        ts = round(time.time() * 1000, 3)
        trade_id += 1
        trade = {"id": trade_id, "price": "60000.000000", "quantity": "0.01234567", "taker_side": "buy", "time": ts}
        items = [trade]
        while len(json.dumps(items)) + 90 < args.trade_size:
            trade_id += 1
            items.append(trade | {"id": trade_id})
        return json.dumps(
            {"type": "trades", "channel": f"trades:{SYMBOL}", "symbol": SYMBOL, "trades": items, "ts": ts}
        )

    control = Path(args.control)
    plan = Plan()

    async def watch() -> None:
        plan.__dict__.update(vars(await Plan.wait(control)))

    watcher = asyncio.ensure_future(watch())
    async with serve(handler, "127.0.0.1", args.port, compression=None, ping_interval=None, max_queue=None):
        next_at = time.time()
        trade_share = args.trade_rate / args.delta_rate
        while time.time() < plan.end:  # then stop, as the market maker does
            next_at += 1 / args.delta_rate
            await asyncio.sleep(max(0.0, next_at - time.time()))
            seq += 1
            broadcast(subscribers, delta())
            if rng.random() < trade_share:  # a batch that traded: its trades follow its delta
                broadcast(subscribers, trades())
        (control / "baseline-final.json").write_text(json.dumps({"seq": seq, "trade_id": trade_id}))
        await asyncio.sleep(max(0.0, plan.until + 2 - time.time()))
    await watcher


# --- the controller ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port}")


class Processes:
    """Child processes, each with its output in a file; stopped in reverse order."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, *command: str, cpus: set[int] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        if cpus:
            os.sched_setaffinity(process.pid, cpus)
        self.running.append((name, process))
        return process

    def output(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running = [(n, p) for n, p in self.running if p is not process]

    def stop_all(self) -> None:
        for _name, process in reversed(self.running):
            self.stop(process)


def cpu_seconds(pid: int) -> float:
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def waiting_seconds(pid: int) -> float:
    """Seconds the process's main thread spent runnable but waiting for a CPU (Linux schedstat)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class Result:
    name: str
    daphnes: int = 0
    clients: int = 0
    connected: int = 0
    seconds: float = 0.0
    deltas_per_second: float = 0.0
    trade_messages_per_second: float = 0.0
    delivered: int = 0
    latencies: list[float] = field(default_factory=list)
    gaps: int = 0
    disorder: int = 0
    resnapshots: int = 0
    missing: int = 0  # messages a client should have had by the end and did not
    ready: int = 0  # clients that had their snapshot before the window
    connect_seconds: float = 0.0  # from starting the clients until all of them had it
    errors: int = 0
    server_cpu: float = 0.0  # percent of one core, all server processes together
    client_cpu: float = 0.0  # percent of one core per client process, the busiest
    machine_cpu: float = 0.0  # percent of the whole machine
    clients_cpu: float = 0.0  # percent of one core, all client processes together
    roles_cpu: dict[str, float] = field(default_factory=dict)  # engine, market maker, PostgreSQL, Redis
    retries: int = 0  # handshakes the server refused (too slow) that the client made again
    arrivals: list[float] = field(default_factory=list)  # ms from commit to a web process's channel layer
    server_waiting: float = 0.0  # % of the window a server process was runnable but had no CPU (the most)
    delta_size: float = 0.0
    trade_size: float = 0.0
    failures: list[str] = field(default_factory=list)

    def percentile(self, share: float) -> float:
        """The latency below which `share` of them are (1.0: the largest)."""
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(share * len(self.latencies)))]

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        return not (self.gaps or self.disorder or self.resnapshots or self.missing or self.errors or self.failures)


def start_clients(
    procs: Processes, urls: list[str], args: argparse.Namespace, control: Path, label: str, *, cpus: set[int] | None
) -> list[tuple[Path, subprocess.Popen[bytes]]]:
    n = args.client_processes
    children = []
    for i in range(n):
        out = control / f"{label}-clients-{i}.json"
        count = args.clients // n + (i < args.clients % n)
        # Each process takes the URLs in turn, so two servers get half the clients each.
        command = [sys.executable, __file__, "client", "--url", ",".join(urls), "--count", str(count)]
        children.append(
            (
                out,
                procs.start(f"{label}-clients-{i}", *command, "--control", str(control), "--out", str(out), cpus=cpus),
            )
        )
    return children


def open_window(
    result: Result, control: Path, children: list[tuple[Path, subprocess.Popen[bytes]]], args: argparse.Namespace
) -> Plan:
    """Wait until every client has its snapshot (or gave up); then start the window a second later."""
    started = time.time()
    deadline = started + 600
    while True:
        ready = [control / f"ready-{out.stem}" for out, _p in children]
        if all(path.exists() for path in ready):
            break
        if time.time() > deadline or any(p.poll() is not None for _o, p in children):
            raise RuntimeError("the clients did not all connect")
        time.sleep(0.1)
    result.connect_seconds = time.time() - started
    result.ready = sum(int(path.read_text()) for path in ready)
    start = time.time() + 1
    plan = Plan(start, start + args.seconds, start + args.seconds + SETTLE_SECONDS)
    (control / "window.tmp").write_text(json.dumps(vars(plan)))
    (control / "window.tmp").rename(control / "window.json")
    return plan


def finish_clients(
    children: list[tuple[Path, subprocess.Popen[bytes]]], procs: Processes
) -> tuple[list[dict[str, Any]], array[float]]:
    summaries, latencies = [], array("d")
    for out, process in children:
        process.wait(timeout=120)
        procs.running = [(n, p) for n, p in procs.running if p is not process]
        summaries.append(json.loads(out.read_text()))
        latencies.frombytes(out.with_suffix(".bin").read_bytes())
    return summaries, latencies


def machine_busy(before: Any) -> float:
    import psutil

    after = psutil.cpu_times()
    total = sum(after) - sum(before)
    idle = (after.idle + getattr(after, "iowait", 0)) - (before.idle + getattr(before, "iowait", 0))
    return 100 * (1 - idle / total) if total else 0.0


def summarize(result: Result, summaries: list[dict[str, Any]], latencies: array[float], seconds: float) -> None:
    clients = [c for s in summaries for c in s["clients"]]
    result.connected = sum(1 for c in clients if c["connected"])
    result.retries = sum(c["retries"] for c in clients)
    result.gaps = sum(c["gaps"] for c in clients)
    result.disorder = sum(c["disorder"] for c in clients)
    result.resnapshots = sum(max(0, c["snapshots"] - 1) for c in clients)
    result.errors = sum(c["errors"] for c in clients)
    result.failures = [f for s in summaries for f in s["failures"]]
    if failed := sum(s["failed"] for s in summaries):
        result.failures.insert(0, f"{failed} connections failed")
    result.latencies = sorted(latencies)
    result.delivered = len(latencies)
    # What the producer made in the window, as the client that saw most of it counts.
    result.deltas_per_second = max((c["window_deltas"] for c in clients), default=0) / seconds
    result.trade_messages_per_second = max((c["window_trades"] for c in clients), default=0) / seconds
    sizes = [n for s in summaries for n in s["sizes"]]
    deltas, trades = [n for n in sizes if n > 0], [-n for n in sizes if n < 0]
    result.delta_size = sum(deltas) / len(deltas) if deltas else 0
    result.trade_size = sum(trades) / len(trades) if trades else 0


def check_complete(result: Result, summaries: list[dict[str, Any]], final_seq: int, trade_ids: list[int]) -> None:
    """Count what each client lacks at the end: deltas up to the last seq, every trade since its first."""
    import bisect

    for s in summaries:
        for c in s["clients"]:
            if not c["connected"] or c["snapshot_seq"] is None:
                continue
            result.missing += final_seq - (c["last_seq"] or 0)
            if c["first_trade"] is not None:
                expected = len(trade_ids) - bisect.bisect_left(trade_ids, c["first_trade"])
                result.missing += expected - c["trades"]


def pinning(pinned: bool) -> tuple[set[int] | None, set[int] | None]:
    """(the server's CPUs, the CPUs of the rest of the benchmark): the first CPU and the others, if pinned."""
    cpus = sorted(os.sched_getaffinity(0))
    return ({cpus[0]}, set(cpus[1:])) if pinned and len(cpus) > 1 else (None, None)


def measure_exchange(
    daphnes: int,
    args: argparse.Namespace,
    env: dict[str, str],
    tmp: Path,
    engine: subprocess.Popen[bytes],
    *,
    pinned: bool = False,
    server: str = "daphne",
) -> Result:
    from django.db import connection

    from trading.models import Market, Order, Trade

    procs = Processes(env, tmp)
    name = f"ours: {server} x{daphnes}" + (PINNED if pinned else "")
    result = Result(name, daphnes=daphnes, clients=args.clients, seconds=args.seconds)
    server_cpus, rest_cpus = pinning(pinned)
    os.sched_setaffinity(engine.pid, rest_cpus or os.sched_getaffinity(0))
    market = Market.objects.get(symbol=SYMBOL)
    try:
        ports = [free_port() for _ in range(daphnes)]
        daphne = str(ROOT / ".venv" / "bin" / "daphne")
        servers = []
        for i, port in enumerate(ports):
            command = [daphne, "-b", "127.0.0.1", "-p", str(port), "exchange.asgi:application"]
            if server == "uvicorn":  # the same application under another ASGI server, for comparison
                command = [str(ROOT / ".venv" / "bin" / "uvicorn"), "exchange.asgi:application", *UVICORN]
                command += ["--host", "127.0.0.1", "--port", str(port)]
            elif server == "stream":  # the stream server `make run` starts (exchange/stream_server.py)
                command = [sys.executable, "manage.py", "run_stream_server", "--host", "127.0.0.1", "--port", str(port)]
            servers.append(procs.start(f"{server}{daphnes}-{i}", *command, cpus=server_cpus))
        for port in ports:
            wait_port(port)
        probe_compression(ports[0])
        maker = procs.start(
            f"market-maker-{daphnes}",
            sys.executable, "manage.py", "simulate_market", "--markets", SYMBOL,
            "--interval", str(args.interval), "--seed", "7", cpus=rest_cpus,
        )  # fmt: skip
        control = Path(tempfile.mkdtemp(dir=tmp))
        urls = [f"ws://127.0.0.1:{port}/ws/stream" for port in ports]
        children = start_clients(procs, urls, args, control, f"{server}{daphnes}", cpus=rest_cpus)
        probe = ArrivalProbe()
        probe.start()
        window = open_window(result, control, children, args)
        probe.window = (window.start, window.end)
        time.sleep(max(0.0, window.start - time.time()))
        meter = Meter(servers, children, {"engine": engine, "market maker": maker})
        profilers = start_profilers(procs, servers, args, f"{server}-x{daphnes}")
        market.refresh_from_db()
        seq0 = market.book_seq
        time.sleep(max(0.0, window.end - time.time()))
        market.refresh_from_db()
        meter.read(result, args.seconds)
        produced = (market.book_seq - seq0) / args.seconds
        procs.stop(maker)
        for profiler in profilers:
            procs.stop(profiler, timeout=60)
        deadline = window.until - 1
        while time.time() < deadline and Order.objects.filter(market=market, status="pending").exists():
            time.sleep(0.1)
        time.sleep(max(0.0, min(0.5, deadline - time.time())))
        market.refresh_from_db()
        trade_ids = list(Trade.objects.filter(market=market).order_by("id").values_list("id", flat=True))
        connection.close()
        summaries, latencies = finish_clients(children, procs)
        result.arrivals = probe.stop()
        summarize(result, summaries, latencies, args.seconds)
        result.deltas_per_second = produced  # the engine's count, whatever the clients got
        check_complete(result, summaries, market.book_seq, trade_ids)
    finally:
        procs.stop_all()
    return result


class ArrivalProbe:
    """A channel-layer subscriber to the market's group in this process, as a web process is one.

    It splits the latency: engine commit to arrival at a web process (the engine's publishing and
    Redis), the rest being the server's fan-out and the clients.
    """

    def __init__(self) -> None:
        import threading

        self.latencies: list[float] = []
        self.window = (math.inf, math.inf)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.channel = ""

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(30)

    async def _run(self) -> None:
        from channels.layers import get_channel_layer

        from trading.events import market_group

        layer = get_channel_layer()
        self.loop = asyncio.get_running_loop()
        self.channel = await layer.new_channel()
        await layer.group_add(market_group(SYMBOL), self.channel)
        self.ready.set()
        while True:
            message = await layer.receive(self.channel)
            now = time.time()
            if message["type"] == "stop":
                return
            if self.window[0] <= now < self.window[1]:
                for channel, text in message["parts"]:
                    if channel.startswith("book:"):
                        self.latencies.append(now * 1000 - json.loads(text)["ts"])

    def stop(self) -> list[float]:
        from channels.layers import get_channel_layer

        if self.loop is not None:
            stop = get_channel_layer().send(self.channel, {"type": "stop"})
            asyncio.run_coroutine_threadsafe(stop, self.loop).result(10)
        self.thread.join(10)
        return sorted(self.latencies)


class Meter:
    """CPU time from now until read(): the servers, the client processes, the rest of this benchmark, the machine."""

    def __init__(
        self,
        servers: list[subprocess.Popen[bytes]],
        children: list[tuple[Path, subprocess.Popen[bytes]]],
        others: dict[str, subprocess.Popen[bytes]] | None = None,
    ) -> None:
        import psutil

        self.servers, self.clients, self.others = servers, [p for _out, p in children], others or {}
        self.server0 = sum(cpu_seconds(p.pid) for p in self.servers)
        self.wait0 = [waiting_seconds(p.pid) for p in self.servers]
        self.client0 = [cpu_seconds(p.pid) for p in self.clients]
        self.roles0 = self.roles()
        self.machine0 = psutil.cpu_times()

    def roles(self) -> dict[int, tuple[str, float]]:
        """pid -> (role, CPU seconds so far): the engine, the market maker, PostgreSQL and Redis processes."""
        import psutil

        found = {p.pid: (name, cpu_seconds(p.pid)) for name, p in self.others.items()}
        for process in psutil.process_iter(["name", "cpu_times"]):
            name = process.info["name"] or ""
            role = "PostgreSQL" if name.startswith("postgres") else "Redis" if name.startswith("redis") else None
            if role and process.info["cpu_times"]:
                times = process.info["cpu_times"]
                found[process.pid] = (role, times.user + times.system)
        return found

    def read(self, result: Result, seconds: float) -> None:
        result.server_cpu = 100 * (sum(cpu_seconds(p.pid) for p in self.servers) - self.server0) / seconds
        waits = [waiting_seconds(p.pid) - w0 for p, w0 in zip(self.servers, self.wait0, strict=True)]
        result.server_waiting = 100 * max(waits) / seconds
        used = [cpu_seconds(p.pid) - c0 for p, c0 in zip(self.clients, self.client0, strict=True)]
        result.client_cpu = 100 * max(used) / seconds
        result.clients_cpu = 100 * sum(used) / seconds
        result.roles_cpu = dict.fromkeys(self.others, 0.0)
        for pid, (role, used) in self.roles().items():  # a process that started meanwhile counts from 0
            before = self.roles0.get(pid, (role, 0.0))[1]
            result.roles_cpu[role] = result.roles_cpu.get(role, 0.0) + 100 * (used - before) / seconds
        result.machine_cpu = machine_busy(self.machine0)


def probe_compression(port: int) -> None:
    """Connect once offering permessage-deflate, as browsers do; say if the server took it."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/ws/stream", origin=f"http://127.0.0.1:{port}") as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions") if ws.response else None
    print(f"  permessage-deflate offered: the server answered extensions={extensions!r}")


def start_profilers(
    procs: Processes, servers: list[subprocess.Popen[bytes]], args: argparse.Namespace, label: str
) -> list[subprocess.Popen[bytes]]:
    spy = shutil.which("py-spy")
    if not args.profile or not spy:
        return []
    Path(args.profile).mkdir(parents=True, exist_ok=True)
    profilers = []
    for i, server in enumerate(servers):
        out = Path(args.profile) / f"{label}-{i}"
        for fmt, suffix in (("speedscope", ".json"),):
            command = [spy, "record", "--pid", str(server.pid), "--duration", str(int(args.seconds)), "--rate", "200"]
            profilers.append(procs.start(f"py-spy-{label}-{i}", *command, "--format", fmt, "-o", f"{out}{suffix}"))
    return profilers


def measure_baseline(reference: Result, args: argparse.Namespace, tmp: Path, *, pinned: bool = False) -> Result:
    procs = Processes(dict(os.environ), tmp)
    name = "websockets broadcast" + (PINNED if pinned else "")
    result = Result(name, daphnes=1, clients=args.clients, seconds=args.seconds)
    server_cpus, rest_cpus = pinning(pinned)
    port = free_port()
    control = Path(tempfile.mkdtemp(dir=tmp))
    try:
        command = [sys.executable, __file__, "baseline", "--port", str(port), "--control", str(control)]
        command += ["--delta-rate", repr(max(1.0, reference.deltas_per_second))]
        command += ["--trade-rate", repr(reference.trade_messages_per_second)]
        command += ["--delta-size", str(round(reference.delta_size or 300))]
        command += ["--trade-size", str(round(reference.trade_size or 200))]
        server = procs.start("baseline-server", *command, cpus=server_cpus)
        wait_port(port)
        children = start_clients(procs, [f"ws://127.0.0.1:{port}/"], args, control, "baseline", cpus=rest_cpus)
        window = open_window(result, control, children, args)
        time.sleep(max(0.0, window.start - time.time()))
        meter = Meter([server], children)
        profilers = start_profilers(procs, [server], args, "baseline")
        time.sleep(max(0.0, window.end - time.time()))
        meter.read(result, args.seconds)
        for profiler in profilers:
            procs.stop(profiler, timeout=60)
        summaries, latencies = finish_clients(children, procs)
        server.wait(timeout=30)
        summarize(result, summaries, latencies, args.seconds)
        final = json.loads((control / "baseline-final.json").read_text())
        check_complete(result, summaries, final["seq"], list(range(1, final["trade_id"] + 1)))
    finally:
        procs.stop_all()
    return result


# --- the report ----------------------------------------------------------------------------------


def row(r: Result) -> str:
    problems = {"gaps": r.gaps, "repeats": r.disorder, "resnapshots": r.resnapshots, "missing": r.missing}
    checks = ", ".join(f"{name} {n:,}" for name, n in problems.items() if n) or "0 / 0"
    latency = " | ".join(f"{r.percentile(share):,.1f}" for share in (0.5, 0.95, 0.99, 1.0))
    return (
        f"| {r.name} | {r.ready:,} ({r.connect_seconds:.0f} s) | {r.deltas_per_second:.1f} | {r.rate:,.0f} | "
        f"{latency} | {checks} | {r.server_cpu:.0f}% | {r.client_cpu:.0f}% | {r.machine_cpu:.0f}% |"
    )


def cpu_line(r: Result) -> str:
    """Where the machine's time went during the window, in % of one core."""
    cores = os.cpu_count() or 1
    ours = r.server_cpu + r.clients_cpu + sum(r.roles_cpu.values())
    parts = [f"server {r.server_cpu:.0f}", f"clients {r.clients_cpu:.0f}"]
    parts += [f"{name} {value:.0f}" for name, value in r.roles_cpu.items()]
    parts.append(f"everything else on the machine {max(0.0, r.machine_cpu * cores - ours):.0f}")
    retries = f"; {r.retries} handshakes refused and made again" if r.retries else ""
    per = f"; {r.server_cpu * 1e4 / r.rate:.0f} us of server CPU per message delivered" if r.rate else ""
    per += f"; the server waited for a CPU {r.server_waiting:.0f}% of the window"
    arrival = ""
    if r.arrivals:
        p50, p99 = (r.arrivals[min(len(r.arrivals) - 1, int(q * len(r.arrivals)))] for q in (0.5, 0.99))
        arrival = f"; commit to arrival at a web process's channel layer p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    return f"- {r.name}: {', '.join(parts)}{per}{retries}{arrival}"


COLUMNS = [
    ("server", "---"),
    ("subscribed (in)", "---:"),
    ("book deltas/s", "---:"),
    ("msgs/s delivered", "---:"),
    ("p50 ms", "---:"),
    ("p95 ms", "---:"),
    ("p99 ms", "---:"),
    ("max ms", "---:"),
    ("drops / disorder", "---"),
    ("server CPU", "---:"),
    ("client CPU", "---:"),
    ("machine", "---:"),
]


def header() -> str:
    return "| " + " | ".join(c for c, _ in COLUMNS) + " |\n| " + " | ".join(a for _, a in COLUMNS) + " |"


NOTES = """What the profile showed (py-spy on daphne: `--profile DIR`), and what changed in the stream path:

- Channels ran `close_old_connections` in the one database thread before every handler, per message and per
  subscriber: 37% of daphne's samples, handshakes and snapshots queued behind it, 384 of 1,000 handshakes
  refused. The consumer skips it (its database calls close old connections themselves).
- Each consumer had a channel-layer channel and joined the groups itself: per message and subscriber a queue,
  a Task, `asyncio.wait` and a msgpack decode; per connection a Redis SUBSCRIBE. Now a web process joins a
  market's group once (exchange.core.streams.Fanout) and hands each round of messages, everything that arrived
  since the last, to its consumers in turn; the engine publishes one message per batch and market with the
  text of every channel the batch touched; a subscriber's frames of a round leave in one write.
- Subscribers arriving together share one market read and one snapshot read; market data frames skip the
  session middleware's send wrapper (8% of samples).
- Under daphne, what is left is daphne, autobahn and Twisted per frame: about 15-30 us of CPU per message
  delivered, where the baseline spends about 10. Of daphne's time, ~14% is autobahn formatting (with click)
  the arguments of a debug log line in `sendData` that is never emitted, ~25% Twisted's write path (a send()
  per connection per round and two epoll changes). permessage-deflate is not negotiated (daphne does not
  accept it), so compression costs nothing. Engine commit to arrival at a web process is a few ms (the CPU
  lines); the rest is the fan-out and waiting for a CPU on a machine that everything shares.
- Before these changes the same script measured, on one daphne: 616 of 1,000 clients connected (384
  handshakes refused), p50 24 s and p99 29.8 s, the market maker held to 13.6 book deltas/s by the load.

- The stream server (issue 15) takes the ASGI server out of the per-frame path: the engine's text for a
  channel is one `str` handed to every subscriber of a round, so its frame is serialized once (server frames
  are unmasked; compression is off) and written to each socket with `transport.write`, never awaiting a
  drain. Its CPU per delivered message is the broadcaster's within a microsecond or two (the CPU lines), the
  consumer's own bookkeeping (subscriptions, the book's `seq` check) being the difference.
- A subscriber that stops reading no longer holds anyone back: past STREAM_SEND_BUFFER unread bytes it is
  closed with 1008 `slow consumer` (exchange/tests/test_stream_server.py).

What remains: on this machine the latency is mostly waiting for a CPU (the "waited for a CPU" figure): two
client processes decoding 35,000 messages a second, the engine, the market maker and PostgreSQL share two
cores with the server. The pinned rows give the server a core of its own; the rest of the run still competes
for the other. The minimal broadcaster, with no engine, market maker or database beside it, shows the floor.
"""


def report(
    results: list[Result], args: argparse.Namespace, load: tuple[float, float, float], versions: dict[str, str]
) -> str:
    from bench_engine import cpu_model

    ours = [r for r in results if r.name.startswith("ours")]
    met = [
        r
        for r in ours
        if r.clean
        and r.ready >= TARGET_CLIENTS
        and r.percentile(0.99) < TARGET_P99_MS
        and r.deltas_per_second >= TARGET_RATE
    ]
    verdict = (
        f"**Target met** by {', '.join(r.name for r in met)}: {TARGET_CLIENTS:,} subscribers, p99 under "
        f"{TARGET_P99_MS} ms at {TARGET_RATE}+ book deltas/s, nothing dropped or out of order."
        if met
        else f"**Target not met in this run** ({TARGET_CLIENTS:,} subscribers, p99 under {TARGET_P99_MS} ms at "
        f"{TARGET_RATE}+ book deltas/s, nothing dropped or out of order): see the CPU lines."
    )
    comparisons = []
    for pinned in (False, True):
        base = next((r for r in results if r not in ours and r.name.endswith(PINNED) == pinned), None)
        server = next(
            (r for r in ours if r.name.startswith("ours: stream") and r.name.endswith(PINNED) == pinned), None
        )
        if base is None or server is None or not (base.rate and server.rate and server.server_cpu):
            continue
        delivered = server.rate / base.rate
        # Capacity: messages delivered per second of server CPU, the throughput a core of its own would give.
        capacity = (server.rate / server.server_cpu) / (base.rate / base.server_cpu) if base.server_cpu else 0.0
        ok = server.clean and server.percentile(0.99) < TARGET_P99_MS and min(delivered, capacity) >= TARGET_THROUGHPUT
        comparisons.append(
            f"- {server.name} against {base.name}: delivered {delivered:.2f}x its messages/s, capacity (messages per "
            f"second of server CPU) {capacity:.2f}x; commit to client p99 {server.percentile(0.99):.0f} ms; "
            f"{'clean' if server.clean else 'NOT clean'} ({'met' if ok else 'missed'}: p99 under {TARGET_P99_MS} ms, "
            f"nothing dropped, at least {TARGET_THROUGHPUT}x the broadcaster)"
        )
    ours_busiest = max((r.client_cpu for r in ours), default=0.0)
    base_busiest = max((r.client_cpu for r in results if r not in ours), default=0.0)
    clients = (
        f"The busiest client process used at most {ours_busiest:.0f}% of a core with our server"
        f"{' (the clients kept up)' if ours_busiest < CLIENT_CPU_LIMIT else ' (the clients may have lagged)'}"
        f" and {base_busiest:.0f}% with the baseline, whose frames each come in a write of their own"
    )
    first = ours[0] if ours else None
    sizes = f"book delta {first.delta_size:.0f} B, trades {first.trade_size:.0f} B on average" if first else "n/a"
    stack = ", ".join(f"{name} {version}" for name, version in versions.items())
    return f"""
## Streams: /ws/stream fan-out to {args.clients:,} subscribers

`make bench` (bench/bench_streams.py), {dt.datetime.now(dt.UTC):%Y-%m-%d}: {cpu_model()}, {os.cpu_count()} cores
(load average before the run {" / ".join(f"{x:.1f}" for x in load)}), Python {platform.python_version()}, {stack}
(channels_redis's pub/sub layer). Everything shares the machine: PostgreSQL, Redis, the engine, the market maker,
the server processes, {args.client_processes} client processes, and whatever else ran on it then.

{args.clients:,} WebSocket clients (`websockets`, asyncio, no compression offered) each subscribed to `book:{SYMBOL}`
and `trades:{SYMBOL}`; measured over {args.seconds:.0f} s once every client had its snapshot. The demo market maker
(`simulate_market --interval {args.interval}`) feeds the engine. Latency is client receipt time minus the message's
`ts` (the engine's commit time; one clock); msgs/s is book deltas and trades received by all clients together
({sizes}). The baseline is a minimal `websockets` server in the script that makes messages of the same
sizes at the same rates in-process and hands each to every subscriber with `websockets.broadcast`. "ours: stream" is
the stream server (exchange/stream_server.py: the same application, each round's frame made once and written to every
socket as it is); "ours: daphne" and "ours: uvicorn" the same application under those ASGI servers. Server and
client CPU in % of one core (client: the busiest process); machine in % of all cores. Subscribed: clients with a
snapshot before the window, and how long connecting them took (20 handshakes at a time). Rows marked pinned put
the server process alone on the first CPU and the engine, the market maker and the clients on the others
(PostgreSQL, Redis and any other work still run anywhere): what the server does with a core of its own.

{header()}
{chr(10).join(row(r) for r in results)}

{verdict} {clients}.

The stream server against the minimal broadcaster, run for run:
{chr(10).join(comparisons) or "- (no stream server and baseline pair in this run)"}

Checks: per client, every delta's `seq` follows the one before from its snapshot
(a gap, a repeat, or the server's second snapshot after a gap counts), trade ids increase, and once the market
maker has stopped and the engine drained, every client has the last `seq` and every trade since its first.

CPU during the window, in % of one core (PostgreSQL and Redis: all their processes), and for our server the part
of the latency before daphne (engine commit to arrival at a channel-layer subscriber in another process):
{chr(10).join(cpu_line(r) for r in results)}

{NOTES}
"""


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ["daphne", "channels", "channels_redis", "websockets"] + (["uvicorn"] if find_spec("uvicorn") else [])
    return {name: version(name) for name in names}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("client", "baseline"):
        return role(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--daphnes", default="1,2", help="daphne process counts to measure, in turn")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.01, help="simulate_market --interval")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-uvicorn", dest="uvicorn", action="store_false", help="leave out the uvicorn runs")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="leave out the runs with the server on a CPU of its own (each server, then the baseline)",
    )
    parser.add_argument("--database-url", help="a server to use (default: DATABASE_URL, else the embedded one)")
    parser.add_argument("--profile", help="a folder for py-spy profiles of the servers over the window")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--no-write", action="store_true", help=f"print only; leave {REPORT.name} alone")
    args = parser.parse_args(argv)

    from bench_engine import admin_execute, server_url, with_database

    load = os.getloadavg()
    url, started = server_url(args.database_url)  # started: the embedded servers this run started
    os.environ["DATABASE_URL"] = with_database(url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "exchange.settings.test"
    os.environ["CHANNEL_LAYER_PREFIX"] = f"bench-streams-{os.getpid()}"
    os.environ["ENGINE_POLL_SECONDS"] = "1"
    import django

    admin_execute(url, f"DROP DATABASE IF EXISTS {BENCH_DB}", f"CREATE DATABASE {BENCH_DB}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    results: list[Result] = []
    procs = Processes(dict(os.environ), tmp)
    try:
        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from trading.markets import ensure_markets
        from wallets.assets import ensure_assets

        call_command("migrate", verbosity=0)
        ensure_assets()
        ensure_markets()
        connection.close()
        engine = procs.start("engine", sys.executable, "manage.py", "run_matching_engine", "--markets", SYMBOL)
        deadline = time.monotonic() + 60
        while f"now running {SYMBOL}" not in procs.output("engine"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the engine did not start: {procs.output('engine')[-2000:]}")
            time.sleep(0.2)
        pinned_too = args.pin and len(os.sched_getaffinity(0)) > 1
        for pinned in (False, True) if pinned_too else (False,):
            counts = [int(n) for n in args.daphnes.split(",") if n]
            runs = [("stream", 1)] + [("daphne", count) for count in (counts[:1] if pinned else counts)]
            if args.uvicorn and find_spec("uvicorn") is not None:
                runs.append(("uvicorn", 1))
            for server, count in runs:
                print(f"{server} x{count}{PINNED if pinned else ''}: {args.clients} clients, {args.seconds:.0f} s")
                result = measure_exchange(count, args, dict(os.environ), tmp, engine, pinned=pinned, server=server)
                results.append(result)
                print(row(result), cpu_line(result), *result.failures[:3], sep="\n  ")
            if not args.no_baseline and results:
                print(f"baseline: websockets broadcast{PINNED if pinned else ''}")
                streams = [r for r in results if r.name.startswith("ours: stream")]
                reference = next(r for r in streams if r.name.endswith(PINNED) == pinned)
                result = measure_baseline(reference, args, tmp, pinned=pinned)
                results.append(result)
                print(row(result), cpu_line(result), *result.failures[:3], sep="\n  ")
    finally:
        procs.stop_all()
        from django.db import connection

        connection.close()
        admin_execute(url, f"DROP DATABASE IF EXISTS {BENCH_DB}")
        from exchange import embedded

        embedded.stop(started)
        if args.keep_logs:
            print(f"logs in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    body = report(results, args, load, versions())
    print(body)
    if not args.no_write:
        from bench_core import write_section

        write_section(REPORT, "streams", body)
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0 if all(r.clean and r.connected == r.clients for r in results) else 1


def role(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["client", "baseline"])
    parser.add_argument("--url")
    parser.add_argument("--count", type=int)
    parser.add_argument("--control", help="the folder the controller and the clients meet in")
    parser.add_argument("--out")
    parser.add_argument("--port", type=int)
    parser.add_argument("--delta-rate", type=float)
    parser.add_argument("--trade-rate", type=float)
    parser.add_argument("--delta-size", type=int)
    parser.add_argument("--trade-size", type=int)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        if args.role == "client":
            asyncio.run(run_clients(args))
        else:
            asyncio.run(run_baseline(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
