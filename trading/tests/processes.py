"""Engine workers, daphne and the stream server for tests: child processes on the test database,
killed or stopped on demand."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def database_url() -> str:
    """A URL for the test database, for a child process."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "") + (":" + quote(s["PASSWORD"]) if s["PASSWORD"] else "")
    if (s["HOST"] or "").startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={s['HOST']}"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgresql://{auth}@{s['HOST'] or 'localhost'}{port}/{s['NAME']}"


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class EngineProcess:
    """`manage.py run_matching_engine` in a child process, its output in a temporary file."""

    def __init__(self, *markets: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "exchange.settings.test",
            "DATABASE_URL": database_url(),
            "ENGINE_POLL_SECONDS": "1",
        }
        self.log = tempfile.NamedTemporaryFile("w+", prefix="engine-", suffix=".log")  # noqa: SIM115
        command = [sys.executable, "manage.py", "run_matching_engine"]
        if markets:
            command += ["--markets", ",".join(markets)]
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def running(self, symbol: str) -> bool:
        """Whether it took `symbol` over (it logs that once it has the lock and the book)."""
        return f"now running {symbol}" in self.output()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=15)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def close(self) -> None:
        self.kill()
        self.log.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class ServerProcess:
    """A server on a free port, on the test database and this run's channel-layer prefix, in a child
    process; its output in a temporary file. `command` ends with the options that take the port."""

    name = "server"

    def __init__(self, *command: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "exchange.settings.test",
            "DATABASE_URL": database_url(),
            **(env or {}),
        }
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"{self.name}-", suffix=".log")  # noqa: SIM115
        command = (*command, str(self.port))
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_for(lambda: listening(self.port) or self.process.poll() is not None, timeout=30):
            self.stop()
            raise RuntimeError(f"{self.name} did not listen within 30 s:\n{self.output()}")
        if self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"{self.name} exited:\n{self.output()}")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class DaphneProcess(ServerProcess):
    """daphne serving exchange.asgi (HTTP and WebSockets)."""

    name = "daphne"

    def __init__(self) -> None:
        super().__init__(sys.executable, "-m", "daphne", "-b", "127.0.0.1", "exchange.asgi:application", "-p")


class StreamServerProcess(ServerProcess):
    """`manage.py run_stream_server`: /ws/stream only (exchange/stream_server.py)."""

    name = "stream-server"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(sys.executable, "manage.py", "run_stream_server", "--host", "127.0.0.1", "--port", env=env)
