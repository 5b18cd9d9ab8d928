"""The matching-engine worker process: heartbeat, NOTIFY wake-ups, clean shutdown on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import connection

from exchange.health import ENGINE_HEARTBEAT_KEY

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _database_url() -> str:
    """Return a URL for the test database, for a child process."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "") + (":" + quote(s["PASSWORD"]) if s["PASSWORD"] else "")
    if (s["HOST"] or "").startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={s['HOST']}"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgresql://{auth}@{s['HOST'] or 'localhost'}{port}/{s['NAME']}"


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_engine_runs_wakes_on_notify_and_stops_cleanly_on_sigterm():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "exchange.settings.test", "DATABASE_URL": _database_url()}
    engine = subprocess.Popen(
        [sys.executable, "manage.py", "run_matching_engine", "--markets", "btc-usdt"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert _wait_for(lambda: cache.get(ENGINE_HEARTBEAT_KEY) is not None), "no heartbeat"
        beat = cache.get(ENGINE_HEARTBEAT_KEY)
        assert beat["pid"] == engine.pid
        assert beat["markets"] == ["BTC-USDT"]

        time.sleep(0.5)  # let it reach LISTEN before notifying
        with connection.cursor() as cursor:
            cursor.execute("NOTIFY engine_wakeup")
        time.sleep(0.5)

        engine.send_signal(signal.SIGTERM)
        output, _ = engine.communicate(timeout=15)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()
    assert engine.returncode == 0, output
    assert "SIGTERM received" in output
    assert "1 wake-ups" in output
    # A stopped engine takes its heartbeat with it, so /healthz stops calling it alive at once.
    assert cache.get(ENGINE_HEARTBEAT_KEY) is None
