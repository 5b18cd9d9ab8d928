"""The matching-engine worker loop: heartbeat, wait for work, process it, repeat.

It wakes on PostgreSQL `NOTIFY engine_wakeup` (sent when orders or cancels are accepted) and polls
as a fallback. A database outage or a bad step is logged and retried with a pause; it never turns
into a crash loop. SIGTERM/SIGINT finish the current step and exit cleanly.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, close_old_connections, connection

from exchange.health import ENGINE_HEARTBEAT_KEY

logger = logging.getLogger(__name__)

WAKEUP_CHANNEL = "engine_wakeup"
MAX_BACKOFF_SECONDS = 30.0


@dataclass
class EngineWorker:
    markets: Sequence[str] = ()
    # One pass over the pending work; returns how many commands it processed.
    step: Callable[[], int] = field(default=lambda: 0)
    stopping: bool = False
    wakeups: int = 0
    processed: int = 0
    _listening: bool = False
    _last_beat: float = 0.0

    def stop(self) -> None:
        self.stopping = True

    def run(self) -> None:
        logger.info("engine started (pid %d, markets: %s)", os.getpid(), ", ".join(self.markets) or "all")
        backoff = 1.0
        try:
            while not self.stopping:
                try:
                    self.heartbeat()
                    self.processed += self.step()
                    if not self.stopping:
                        self.wait_for_work(settings.ENGINE_POLL_SECONDS)
                    backoff = 1.0
                except OperationalError:
                    logger.exception("engine: database unavailable; retrying in %.0f s", backoff)
                    self._reset_connection()
                    self._sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                finally:
                    close_old_connections()
        finally:
            self._clear_heartbeat()
            logger.info("engine stopped (%d commands processed, %d wake-ups)", self.processed, self.wakeups)

    def heartbeat(self) -> None:
        now = time.time()
        if now - self._last_beat < settings.ENGINE_HEARTBEAT_SECONDS:
            return
        beat = {"pid": os.getpid(), "host": socket.gethostname(), "markets": list(self.markets), "at": now}
        try:
            cache.set(ENGINE_HEARTBEAT_KEY, beat, timeout=settings.ENGINE_HEARTBEAT_SECONDS * 3)
            self._last_beat = now
        except Exception:  # Redis down: matching goes on; /healthz will say so
            logger.warning("engine: could not write the heartbeat to Redis", exc_info=True)

    def wait_for_work(self, timeout: float) -> bool:
        """Block until a NOTIFY arrives or the timeout passes; return whether one arrived."""
        connection.ensure_connection()
        pg = connection.connection
        if not self._listening:
            pg.execute(f"LISTEN {WAKEUP_CHANNEL}")
            self._listening = True
        woke = False
        for _notify in pg.notifies(timeout=timeout, stop_after=1):
            woke = True
            self.wakeups += 1
        return woke

    def _reset_connection(self) -> None:
        self._listening = False
        try:
            connection.close()
        except Exception:
            logger.debug("engine: closing a broken connection failed", exc_info=True)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)

    def _clear_heartbeat(self) -> None:
        try:
            beat = cache.get(ENGINE_HEARTBEAT_KEY)
            if isinstance(beat, dict) and beat.get("pid") == os.getpid():
                cache.delete(ENGINE_HEARTBEAT_KEY)
        except Exception:
            logger.debug("engine: could not clear the heartbeat", exc_info=True)
