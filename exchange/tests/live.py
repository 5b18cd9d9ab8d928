"""The processes of `make run` (web, worker, beat), started from the Procfile on the test database.

They run as `make run` runs them: the Procfile's commands, the development settings (DEBUG=1, no
DJANGO_SETTINGS_MODULE but the Procfile's own), configured by environment variables only. What
differs is where: the test database; a Redis database of their own for cache, channel layer and
broker (the suite flushes its own between tests); mail written to files that `Mailbox` reads.
Nothing runs eagerly: a job queued by the web server reaches the worker through the broker, or the
test waits in vain.

Users that these processes sign in need a password hash the base settings know (`live_passwords`).
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import IO, Any

import redis
from django.conf import settings

from exchange.env import with_redis_db
from trading.tests.processes import BASE_DIR, database_url, wait_for

PROCFILE = BASE_DIR / "Procfile"
SEPARATOR = "\n" + "-" * 79 + "\n"  # Django's file email backend writes one after each message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def procfile_commands(env: dict[str, str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each Procfile process: its argv (variables expanded, `.venv/bin/` this interpreter's) and env."""
    commands = {}
    for line in PROCFILE.read_text().splitlines():
        name, _, command = line.partition(":")
        if not command.strip() or name.startswith("#"):
            continue
        words = shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), command))
        assignments = {}
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            key, _, value = words.pop(0).partition("=")
            assignments[key] = value
        words[0] = re.sub(r"^\.venv/bin/", f"{Path(sys.executable).parent}/", words[0])
        commands[name.strip()] = (words, assignments)
    return commands


@dataclass
class Mailbox:
    """The messages Django's file backend wrote into a directory."""

    path: Path

    def messages(self) -> list[EmailMessage]:
        found = []
        for file in sorted(self.path.glob("*.log")):
            for raw in file.read_bytes().decode().split(SEPARATOR):
                if raw.strip():
                    message = email.message_from_string(raw, policy=email.policy.default)
                    assert isinstance(message, EmailMessage)
                    found.append(message)
        return found

    def wait_for(self, *, to: str, subject: str, timeout: float = 45) -> EmailMessage:
        """Return the first message to `to` whose subject contains `subject`, waiting for it."""
        found: list[EmailMessage] = []

        def arrived() -> bool:
            found[:] = [m for m in self.messages() if to in str(m["To"]) and subject in str(m["Subject"])]
            return bool(found)

        assert wait_for(arrived, timeout=timeout), f"no email to {to} about {subject!r}; got {self.subjects()}"
        return found[0]

    def subjects(self) -> list[str]:
        return [f"{m['To']}: {m['Subject']}" for m in self.messages()]


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@dataclass
class Live:
    url: str
    port: int
    mailbox: Mailbox
    logs: dict[str, IO[str]] = field(default_factory=dict)

    def log(self, name: str) -> str:
        self.logs[name].flush()
        return Path(self.logs[name].name).read_text()


@contextmanager
def live_processes(*names: str, extra_env: dict[str, str] | None = None) -> Iterator[Live]:
    """Start the named Procfile processes on the test database; stop them afterwards."""
    port = free_port()
    redis_url = with_redis_db(settings.REDIS_URL, 14 if not settings.REDIS_URL.endswith(("/14", "db=14")) else 13)
    redis.Redis.from_url(redis_url).flushdb()  # their own database, empty
    with tempfile.TemporaryDirectory(prefix="live-") as tmp:
        mail_dir = Path(tmp) / "mail"
        mail_dir.mkdir()
        env = {
            **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "SITE_URL"}},
            "DEBUG": "1",
            "SECRET_KEY": settings.SECRET_KEY,  # what the test process signs and encrypts with (API keys)
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "CELERY_BEAT_SCHEDULE_FILENAME": str(Path(tmp) / "celerybeat-schedule"),
            "PRIVATE_MEDIA_ROOT": str(settings.STORAGES["default"]["OPTIONS"]["location"]),
            "WEB_HOST": "127.0.0.1",
            "WEB_PORT": str(port),
            **(extra_env or {}),
        }
        live = Live(url=f"http://127.0.0.1:{port}", port=port, mailbox=Mailbox(mail_dir))
        processes: dict[str, subprocess.Popen[str]] = {}
        commands = procfile_commands(env)
        try:
            for name in names:
                argv, assignments = commands[name]
                log = live.logs[name] = tempfile.NamedTemporaryFile("w+", prefix=f"{name}-", suffix=".log")  # noqa: SIM115
                processes[name] = subprocess.Popen(
                    argv, cwd=BASE_DIR, env={**env, **assignments}, stdout=log, stderr=subprocess.STDOUT, text=True
                )
            if "web" in names:
                assert wait_for(lambda: _listening(port) or processes["web"].poll() is not None, timeout=30)
                assert processes["web"].poll() is None, live.log("web")
            if "worker" in names:
                assert wait_for(lambda: "ready." in live.log("worker"), timeout=60), live.log("worker")
            yield live
        finally:
            for process in processes.values():
                process.terminate()
            for name, process in processes.items():
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                live.logs[name].close()


def live_passwords(settings: Any) -> None:
    """Hash passwords with the base settings' hashers (the test settings put a fast one first)."""
    from exchange.settings import base

    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def eventually(check: Callable[[], Any], *, timeout: float = 30, what: str = "") -> Any:
    """Poll `check` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.2)
