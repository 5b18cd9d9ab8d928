"""Benchmark the REST tier open loop: the real endpoints and a bare Django view, under each HTTP server.

Open loop, so no coordinated omission: request i is due at start + i / rate whether or not the
earlier ones have answered, and its latency counts from that scheduled moment, so a server that
falls behind shows its queue in the figures instead of slowing the client down. Per offered rate:
achieved rate (answers that were right, per second of the run), p50 / p99 / p99.9, and errors
(statuses other than the expected one, connection failures, timeouts after 10 s). The knee is the
highest offered rate answered with p99 <= 100 ms and no error.

What runs: a database of its own (`exchange_bench_rest`, created, migrated and dropped on the server
DATABASE_URL names, or the embedded PostgreSQL), 20 funded, verified traders with JWTs, the matching
engine (`run_matching_engine`, so orders are matched as they are on the site; the market maker off),
and the HTTP server under test on the exchange's ASGI application, configured as in production
(DEBUG off, the development secret replaced) with the rate limits and the DDoS guard lifted. The
server's settings add one URL, `/bench/bare`: a Django view that returns a small JSON object, the
baseline every endpoint is compared with, served by the same server in the same run.

Endpoints: `GET /bench/bare`, `GET /api/market/ticker/BTC-USDT` (a light read) and
`POST /api/trading/orders` (a limit order, 1 lot, priced around the mid, 10 % crossing). The
client is this process (asyncio, aiohttp); the CPU seconds of the server's processes and of the
client are reported beside the machine's load and core count.

    .venv/bin/python bench/bench_rest.py [--servers daphne,uvicorn,gunicorn,granian] [--workers N]
        [--seconds 8] [--read-rates 100,200,400,600,800] [--order-rates 25,50,100,200,400]
        [--no-write] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

REPORT = ROOT / "docs" / "performance.md"
BENCH_DB = "exchange_bench_rest"
SYMBOL = "BTC-USDT"
TRADERS = 20
KNEE_P99_MS = 100.0
TIMEOUT_SECONDS = 10.0
VENV_BIN = ROOT / ".venv" / "bin"


def server_command(server: str, port: int, workers: int) -> list[str]:
    """The command line of one HTTP server on the exchange's ASGI application."""
    app = "exchange.asgi:application"
    host = "127.0.0.1"
    if server == "daphne":  # one process: what the Procfile ran before this benchmark
        return [str(VENV_BIN / "daphne"), "-b", host, "-p", str(port), app]
    if server == "uvicorn":  # uvicorn's own process manager
        return [
            str(VENV_BIN / "uvicorn"), app, "--host", host, "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--lifespan", "off",
        ]  # fmt: skip
    if server == "gunicorn":  # what the Procfile runs: gunicorn_config.py's uvicorn workers
        return [
            str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "exchange" / "gunicorn_config.py"), "-w", str(workers),
            "-b", f"{host}:{port}", "--log-level", "warning", app,
        ]  # fmt: skip
    if server == "granian":
        return [
            str(VENV_BIN / "granian"), "--interface", "asgi", "--host", host, "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--no-ws", app,
        ]  # fmt: skip
    raise ValueError(f"unknown server {server}")


def server_env(workers: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="rest_settings",  # bench/rest_settings.py: base settings plus /bench/bare
        PYTHONPATH=os.pathsep.join([str(BENCH), str(ROOT)]),
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ",  # noqa: S106 - a throwaway database
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        DDOS_GUARD="0",
        RATE_LIMIT_ANON="100000000/m",
        RATE_LIMIT_USER="100000000/m",
        RATE_LIMIT_API_KEY="100000000/m",
        RATE_LIMIT_ORDER="100000000/m",
        SIMULATED_DEPOSITS="1",  # the traders are funded by simulated deposits
        SIMULATED_MINING="1",
        WEB_CONCURRENCY=str(workers),
        DB_CONN_MAX_AGE="0",  # as in production: a pool per process instead of a connection per thread
        DB_POOL_MAX_SIZE=os.environ.get("DB_POOL_MAX_SIZE", "4"),
    )
    return env


# --- the load ---------------------------------------------------------------------------------------


@dataclass
class Point:
    endpoint: str
    offered: float
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def achieved(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        return not self.errors and self.percentile(0.99) <= KNEE_P99_MS


@dataclass
class Request:
    method: str
    path: str
    expect: int
    body: bytes | None = None
    token: str | None = None


class Workload:
    """The requests of each endpoint, made up front so the client does no work while it sends."""

    def __init__(self, tokens: list[str], seed: int = 7) -> None:
        self.tokens = tokens
        self.rng = random.Random(seed)  # noqa: S311 - a seeded workload, not a secret

    def make(self, endpoint: str, count: int) -> list[Request]:
        if endpoint == "bare":
            return [Request("GET", "/bench/bare", 200)] * count
        if endpoint == "ticker":
            return [Request("GET", f"/api/market/ticker/{SYMBOL}", 200)] * count
        requests = []
        for _ in range(count):
            buy = self.rng.random() < 0.5
            crossing = self.rng.random() < 0.1
            offset = self.rng.randint(1, 200) * (-1 if crossing else 1)
            price = 60000 - offset if buy else 60000 + offset
            body = {"symbol": SYMBOL, "side": "buy" if buy else "sell", "type": "limit", "price": str(price)}
            body["quantity"] = "0.001"
            requests.append(
                Request("POST", "/api/trading/orders", 201, json.dumps(body).encode(), self.rng.choice(self.tokens))
            )
        return requests


async def offer(base: str, endpoint: str, requests: list[Request], rate: float, *, start: float = 0.0) -> Point:
    """Send `requests` at `rate` per second, open loop (from `start`, the loop's time); return what came back."""
    import aiohttp

    point = Point(endpoint, rate, sent=len(requests))
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
        start = start or loop.time() + 0.2
        last = [start]

        async def one(index: int, request: Request) -> None:
            due = start + index / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            headers = {"Content-Type": "application/json"}
            if request.token:
                headers["Authorization"] = f"Bearer {request.token}"
            try:
                async with session.request(request.method, request.path, data=request.body, headers=headers) as answer:
                    await answer.read()
                    status = answer.status
            except Exception as error:
                key = type(error).__name__
                point.errors[key] = point.errors.get(key, 0) + 1
                return
            done = loop.time()
            point.latencies_ms.append((done - due) * 1000)
            last[0] = max(last[0], done)
            if status == request.expect:
                point.ok += 1
            else:
                point.errors[str(status)] = point.errors.get(str(status), 0) + 1

        await asyncio.gather(*(one(i, request) for i, request in enumerate(requests)))
        point.seconds = max(len(requests) / rate, last[0] - start)
    return point


# --- place an order, hear of it on the user stream ---------------------------------------------------


@dataclass
class StreamPoint:
    """Orders placed open loop, and when each one's first `orders` event reached its trader's stream."""

    offered: float
    sent: int = 0
    answers: Point | None = None  # the POSTs themselves: the baseline, in the same run
    latencies_ms: list[float] = field(default_factory=list)  # scheduled send -> the event on the stream
    missing: int = 0  # placed (201) but never heard of on the stream
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def percentile(self, share: float) -> float:
        return percentile_of(self.latencies_ms, share)


def percentile_of(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def place_and_listen(base: str, stream_url: str, tokens: list[str], rate: float, seconds: float) -> StreamPoint:
    """Each trader on the stream server's `user` channel (JWT auth); orders POSTed open loop, round robin
    over the traders, each with a client order id; the latency of an order is from its scheduled send to
    the first `orders` message on its trader's connection that carries it."""
    import websockets

    count = int(rate * seconds)
    run = f"s{os.getpid() % 10000}r{int(rate)}"  # client order ids unique across runs
    workload = Workload(tokens, seed=int(rate))
    requests = []
    for i, request in enumerate(workload.make("order", count)):
        body = json.loads(request.body or b"{}") | {"client_order_id": f"{run}-{i}"}
        requests.append(Request("POST", request.path, 201, json.dumps(body).encode(), tokens[i % len(tokens)]))
    point = StreamPoint(rate, sent=count, load=os.getloadavg())
    loop = asyncio.get_running_loop()
    heard: dict[str, float] = {}
    connections = []
    for token in tokens:
        ws = await websockets.connect(stream_url, max_size=2**22)
        await ws.send(json.dumps({"op": "auth", "token": token}))
        await ws.send(json.dumps({"op": "subscribe", "channels": ["user"]}))
        while json.loads(await ws.recv()).get("type") != "balances":
            pass
        connections.append(ws)

    async def listen(ws: Any) -> None:
        async for text in ws:
            now = loop.time()
            if '"orders"' not in text[:40]:
                continue
            for order in json.loads(text)["orders"]:
                heard.setdefault(order.get("client_order_id") or "", now)

    listeners = [asyncio.create_task(listen(ws)) for ws in connections]
    start = loop.time() + 0.2
    point.answers = await offer(base, "order", requests, rate, start=start)
    await asyncio.sleep(2.0)  # the last events
    for task in listeners:
        task.cancel()
    for ws in connections:
        await ws.close()
    for i in range(count):
        at = heard.get(f"{run}-{i}")
        if at is None:
            point.missing += 1
        else:
            point.latencies_ms.append((at - (start + i / rate)) * 1000)
    return point


def measure_user_stream(args: argparse.Namespace, tokens: list[str], logs: Path) -> list[StreamPoint]:
    """The web process as `make run` has it (gunicorn's uvicorn workers) and the stream server."""
    from bench_streams import Processes, free_port, wait_port

    procs = Processes(server_env(args.workers), logs)
    web_port, stream_port = free_port(), free_port()
    procs.start("web", *server_command("gunicorn", web_port, args.workers))
    procs.start("stream", sys.executable, "manage.py", "run_stream_server", "--port", str(stream_port))
    points = []
    try:
        wait_port(web_port)
        wait_port(stream_port)
        base, stream_url = f"http://127.0.0.1:{web_port}", f"ws://127.0.0.1:{stream_port}/ws/stream"
        asyncio.run(offer(base, "order", Workload(tokens).make("order", 3 * TRADERS), 20))  # warm up
        for rate in args.stream_rates:
            point = asyncio.run(place_and_listen(base, stream_url, tokens[:10], rate, args.seconds))
            points.append(point)
            print(f"  place -> user stream: {fmt_stream(point)}", flush=True)
            time.sleep(1)
    finally:
        procs.stop_all()
    return points


def fmt_stream(p: StreamPoint) -> str:
    answers = p.answers or Point("order", p.offered)
    return (
        f"offered {p.offered:>4.0f}/s: event p50 {p.percentile(0.5):6.1f} p99 {p.percentile(0.99):6.1f} "
        f"p99.9 {p.percentile(0.999):6.1f} ms, missing {p.missing}; the POST's answer p50 "
        f"{answers.percentile(0.5):6.1f} p99 {answers.percentile(0.99):6.1f} ms, errors {sum(answers.errors.values())}"
    )


# --- processes and figures --------------------------------------------------------------------------


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (a server's workers)."""
    from bench_streams import cpu_seconds

    pids = {pid}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            pids.add(int(stat.parent.name))
    total = 0.0
    for one in pids:
        with contextlib.suppress(OSError):  # a worker that ended meanwhile
            total += cpu_seconds(one)
    return total


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class ServerRun:
    name: str
    workers: int
    load: tuple[float, float, float]
    points: list[Point] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    failure: str = ""

    def knee(self, endpoint: str) -> float:
        clean = [p.offered for p in self.points if p.endpoint == endpoint and p.clean]
        return max(clean, default=0.0)


def measure_server(server: str, workers: int, args: argparse.Namespace, tokens: list[str], logs: Path) -> ServerRun:
    from bench_streams import Processes, free_port, wait_port

    processes = 1 if server == "daphne" else workers  # daphne has no workers of its own
    run = ServerRun(f"{server} x{processes}", processes, os.getloadavg())
    procs = Processes(server_env(workers), logs)
    port = free_port()
    process = procs.start(server, *server_command(server, port, workers))
    try:
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        workload = Workload(tokens)
        # Warm every worker (imports, connections, each trader's first hold) before the clock starts.
        asyncio.run(offer(base, "bare", workload.make("bare", 40 * workers), 200))
        asyncio.run(offer(base, "ticker", workload.make("ticker", 40 * workers), 200))
        asyncio.run(offer(base, "order", workload.make("order", 3 * TRADERS), 20))
        cpu0, client0 = tree_cpu_seconds(process.pid), client_cpu_seconds()
        plan = [("bare", r) for r in args.read_rates] + [("ticker", r) for r in args.read_rates]
        plan += [("order", r) for r in args.order_rates]
        saturated: set[str] = set()
        for endpoint, rate in plan:
            if endpoint in saturated:
                continue
            requests = workload.make(endpoint, int(rate * args.seconds))
            point = asyncio.run(offer(base, endpoint, requests, rate))
            run.points.append(point)
            print(f"  {run.name} {endpoint:6} {fmt_point(point)}", flush=True)
            if any(key.isdigit() and key.startswith("5") for key in point.errors):
                print("  server errors; its log ends:", procs.output(server)[-1500:], sep="\n", flush=True)
            if point.percentile(0.5) > 2000 or sum(point.errors.values()) > point.sent // 2:
                saturated.add(endpoint)  # far past the knee: higher rates tell nothing more
            settle(base)
        run.server_cpu = tree_cpu_seconds(process.pid) - cpu0
        run.client_cpu = client_cpu_seconds() - client0
    except Exception as error:
        run.failure = f"{type(error).__name__}: {error}; log: {procs.output(server)[-600:]}"
        print(f"  {run.name} failed: {run.failure}", flush=True)
    finally:
        procs.stop_all()
    return run


def settle(base: str, timeout: float = 90.0) -> None:
    """Wait until the server answers the bare view promptly again, 20 times in a row (so every worker
    does): a saturated run leaves requests queued in it (the client gave up on them, the server has
    not), which would land on the next run."""
    import urllib.request

    deadline = time.monotonic() + timeout
    time.sleep(1)
    prompt = 0
    while prompt < 20 and time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{base}/bench/bare", timeout=5):  # noqa: S310  # our own http:// URL
                prompt = prompt + 1 if time.monotonic() - started < 0.02 else 0
        except OSError:
            prompt = 0
        time.sleep(0.05 if prompt else 0.5)


def fmt_point(p: Point) -> str:
    errors = ", ".join(f"{k} x{v}" for k, v in sorted(p.errors.items())) or "0"
    return (
        f"offered {p.offered:>5.0f}/s achieved {p.achieved:>6.1f}/s p50 {p.percentile(0.5):7.1f} "
        f"p99 {p.percentile(0.99):7.1f} p99.9 {p.percentile(0.999):7.1f} ms errors {errors}"
    )


def seed(url: str) -> list[str]:
    """Migrate the bench database, make the markets and the funded traders; return their JWTs."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from accounts.services import issue_tokens
    from trading.markets import ensure_markets
    from wallets.assets import ensure_assets
    from wallets.models import Asset
    from wallets.tests.factories import fund

    call_command("migrate", verbosity=0)
    ensure_assets()
    ensure_markets()
    usdt, btc = Asset.objects.get(code="USDT"), Asset.objects.get(code="BTC")
    tokens = []
    for i in range(TRADERS):
        user = User.objects.create_user(
            username=f"bench{i}", email=f"bench{i}@example.com", password=None, kyc_level=1, kyc_status="approved"
        )
        fund(user.pk, usdt, "1000000")
        fund(user.pk, btc, "100")
        tokens.append(issue_tokens(user=user).access)
    connection.close()
    return tokens


def report(runs: list[ServerRun], args: argparse.Namespace, stream_points: list[StreamPoint]) -> str:
    cores = os.cpu_count()
    lines = [
        f"## REST API, open loop ({dt.datetime.now(dt.UTC):%Y-%m-%d}, `bench/bench_rest.py`)",
        "",
        "Open loop from one client process on the same machine (asyncio + aiohttp): request i is due at",
        "start + i / rate whatever the earlier ones did, and its latency counts from then. Each rate runs",
        f"{args.seconds:.0f} s; errors are other statuses, failed connections and timeouts ({TIMEOUT_SECONDS:.0f} s).",
        f"The knee is the highest offered rate with p99 <= {KNEE_P99_MS:.0f} ms and no error. Rate limits and the",
        "DDoS guard are lifted, DEBUG is off, the engine runs (the market maker does not). `bare` is a",
        "Django view returning a small JSON object, served by the same server in the same run: the",
        "ceiling of the framework itself on this machine.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {cores} cores; Python {platform.python_version()}.",
        "",
        "| server | endpoint | offered /s | achieved /s | p50 ms | p99 ms | p99.9 ms | errors | load (1/5/15 min) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for run in runs:
        load = "/".join(f"{x:.1f}" for x in run.load)
        for p in run.points:
            errors = ", ".join(f"{k} x{v}" for k, v in sorted(p.errors.items())) or "0"
            lines.append(
                f"| {run.name} | {p.endpoint} | {p.offered:.0f} | {p.achieved:.1f} | {p.percentile(0.5):.1f} | "
                f"{p.percentile(0.99):.1f} | {p.percentile(0.999):.1f} | {errors} | {load} |"
            )
        if run.failure:
            lines.append(f"| {run.name} | - | - | - | - | - | - | {run.failure[:120]} | {load} |")
    lines += [
        "",
        f"Knees (p99 <= {KNEE_P99_MS:.0f} ms, no error), and the CPU the server's processes and the client used:",
        "",
        "| server | bare /s | ticker /s | ticker / bare | orders /s | server CPU s | client CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        bare, ticker, orders = run.knee("bare"), run.knee("ticker"), run.knee("order")
        ratio = f"{ticker / bare:.2f}" if bare else "-"
        cpu = f"{run.server_cpu:.0f} | {run.client_cpu:.0f}"
        lines.append(f"| {run.name} | {bare:.0f} | {ticker:.0f} | {ratio} | {orders:.0f} | {cpu} |")
    if stream_points:
        lines += [
            "",
            "Place an order, hear of it on your own stream: the web process as `make run` has it (gunicorn,",
            f"{args.workers} uvicorn workers) and the stream server, 10 traders each on the `user` channel of a",
            "connection of their own (JWT auth); orders POSTed open loop, round robin over them, each with a client",
            "order id. Event: from the order's scheduled send to the first `orders` message carrying it on its",
            "trader's connection (target: p99 under 50 ms at 100 orders/s). Beside it, the baseline of the same",
            "run: the POST's own answer.",
            "",
            "| offered /s | event p50 ms | event p99 ms | event p99.9 ms | never heard of | POST p50 ms | POST p99 ms "
            "| POST errors | load (1/5/15 min) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for s in stream_points:
            answers = s.answers or Point("order", s.offered)
            lines.append(
                f"| {s.offered:.0f} | {s.percentile(0.5):.1f} | {s.percentile(0.99):.1f} | {s.percentile(0.999):.1f} | "
                f"{s.missing} | {answers.percentile(0.5):.1f} | {answers.percentile(0.99):.1f} | "
                f"{sum(answers.errors.values())} | {'/'.join(f'{x:.1f}' for x in s.load)} |"
            )
    return "\n".join([*lines, "", NOTES])


NOTES = """Where an order's time goes (cProfile of `POST /api/trading/orders` through Django's test client, one
process: 10.4 ms an order unprofiled, 18.3 profiled): `place_order` 63% of it, of which the hold 24% (its
two accounts, their lock, the entry, its postings and balances) and the market's lookup 15% (ORM
compilation of a two-join query); DRF's checks before the view 25% (the rate limits' Redis round trips
11%, the token's user, the level policy, which the service checks again); middleware and rendering the
rest. Statements: 16 (trading/tests/test_order_queries.py counts them); no session is read. On 2 cores
that also run PostgreSQL, the engine, the stream server and the client, two workers take 50-60 orders/s;
at that rate the engine takes each order as a batch of its own (the adaptive limit binds only under a
backlog), with a commit each. What would close the gap to 200 orders/s at p99 <= 50 ms: the order's
insert and hold as one statement (a CTE) instead of ten; markets and level limits kept per worker and
invalidated by a Redis message instead of read per request; the rate limits in one Redis round trip (a
script); one policy check instead of two; and cores: 200 orders/s at 10 ms of Python each is two cores
before PostgreSQL. Place -> own stream adds 5-15 ms to the POST's own answer (the engine's batch and the
stream): its p99 follows the POST's, so it is met when the POST's target is."""


def rates(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="daphne,uvicorn,gunicorn,granian")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--read-rates", type=rates, default=rates("100,200,400,600,800"))
    parser.add_argument("--order-rates", type=rates, default=rates("25,50,100,200,400"))
    parser.add_argument("--stream-rates", type=rates, default=rates("50,100"), help="place -> user stream; '' skips")
    parser.add_argument("--database-url", help="a server to use (default: DATABASE_URL, else the embedded one)")
    parser.add_argument("--no-write", action="store_true", help=f"print only; leave {REPORT.name} alone")
    args = parser.parse_args(argv)

    from bench_engine import admin_execute, server_url, with_database
    from bench_streams import Processes

    url, started = server_url(args.database_url)
    os.environ["DATABASE_URL"] = with_database(url, BENCH_DB)
    os.environ["CHANNEL_LAYER_PREFIX"] = f"bench-rest-{os.getpid()}"
    os.environ.update(server_env(args.workers))  # the servers' settings here too: the JWTs must be theirs
    admin_execute(url, f"DROP DATABASE IF EXISTS {BENCH_DB}", f"CREATE DATABASE {BENCH_DB}")
    logs = Path(tempfile.mkdtemp(prefix="bench-rest-"))
    runs: list[ServerRun] = []
    stream_points: list[StreamPoint] = []
    procs = Processes(server_env(args.workers), logs)
    try:
        tokens = seed(url)
        engine = procs.start("engine", sys.executable, "manage.py", "run_matching_engine", "--markets", SYMBOL)
        deadline = time.monotonic() + 60
        while f"now running {SYMBOL}" not in procs.output("engine"):
            if time.monotonic() > deadline or engine.poll() is not None:
                raise RuntimeError(f"the engine did not start: {procs.output('engine')[-2000:]}")
            time.sleep(0.2)
        for server in args.servers.split(","):
            print(f"{server}:", flush=True)
            runs.append(measure_server(server, args.workers, args, tokens, logs))
        if args.stream_rates:
            print("place an order, hear of it on the user stream (gunicorn + the stream server):", flush=True)
            stream_points = measure_user_stream(args, tokens, logs)
    finally:
        procs.stop_all()
        from django.db import connection

        connection.close()
        admin_execute(url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        from exchange import embedded

        embedded.stop(started)
        shutil.rmtree(logs, ignore_errors=True)
    body = report(runs, args, stream_points)
    print(body)
    if not args.no_write:
        from bench_core import write_section

        write_section(REPORT, "rest", body)
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0 if all(not run.failure for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
