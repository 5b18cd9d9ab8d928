"""The matching-engine worker: own markets, wait for work, run batches, repeat.

Ownership: a market is run by the worker holding its PostgreSQL advisory lock, taken on a connection
of its own that lives as long as the process (when the process dies, the lock goes with it). A worker
that cannot take a market's lock is its standby and tries again on every pass, so it takes over
within about a second of the owner's death. Taking a market bumps its `engine_epoch` and only then
rebuilds the book; every batch checks the epoch in its transaction, so an owner that lost the lock
(a network split, a paused process) can never write after its successor started.

The same connection LISTENs for `engine_wakeup` (sent when orders or cancels are accepted); the loop
also polls as a fallback. A database outage or a failed batch is logged and retried with a pause;
SIGTERM/SIGINT finish the current batch and exit cleanly.
"""

from __future__ import annotations

import logging
import os
import socket
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, OperationalError, close_old_connections, connection

from exchange.core import streams
from trading.batch_writer import Fenced
from trading.matching import BookCorrupt, MarketEngine, keep_survivors_out_of_full_collections
from trading.models import Market
from trading.services import WAKEUP_CHANNEL

logger = logging.getLogger(__name__)

ENGINE_HEARTBEAT_KEY = "engine:heartbeat"  # in the cache while a worker lives: /healthz reads it
MAX_BACKOFF_SECONDS = 30.0
LOCK_NAMESPACE = 0x7E4D  # advisory locks are (namespace, market id) pairs
STATS_EVERY_SECONDS = 10.0
MAX_DRAIN_SECONDS = 0.5  # one market's turn, so that one busy market cannot starve the others


@dataclass
class EngineWorker:
    markets: Sequence[str] = ()  # symbols; empty: every market
    stopping: bool = False
    wakeups: int = 0
    processed: int = 0
    engines: dict[int, MarketEngine] = field(default_factory=dict)
    _lock_conn: psycopg.Connection[tuple[object, ...]] | None = None
    _last_beat: float = 0.0
    _last_stats: float = field(default_factory=time.monotonic)

    def stop(self) -> None:
        self.stopping = True

    def run(self) -> None:
        logger.info("engine started (pid %d, markets: %s)", os.getpid(), ", ".join(self.markets) or "all")
        keep_survivors_out_of_full_collections()
        backoff = 1.0
        try:
            while not self.stopping:
                try:
                    self.heartbeat()
                    self.claim_markets()
                    busy = self.step()
                    self.processed += busy
                    self.log_stats()
                    if not self.stopping and not busy:
                        self.wait_for_work(settings.ENGINE_POLL_SECONDS)
                    backoff = 1.0
                except (OperationalError, psycopg.OperationalError, BookCorrupt, DatabaseError):
                    logger.exception("engine: batch or database failure; retrying in %.0f s", backoff)
                    self._reset_connections()
                    self._sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                finally:
                    close_old_connections()
        finally:
            streams.background.flush()  # the events of the batches committed before the stop
            self._release_all()
            self._clear_heartbeat()
            logger.info("engine stopped (%d commands processed, %d wake-ups)", self.processed, self.wakeups)

    # --- ownership ------------------------------------------------------------------------------

    def lock_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._lock_conn is None or self._lock_conn.closed:
            self.engines.clear()  # the locks died with the old connection
            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            self._lock_conn = psycopg.connect(**params, autocommit=True)
            self._lock_conn.execute(f"LISTEN {WAKEUP_CHANNEL}")
        return self._lock_conn

    def claim_markets(self) -> None:
        """Take the lock of every wanted market not owned yet (a standby's way of taking over)."""
        wanted = Market.objects.all()
        if self.markets:
            wanted = wanted.filter(symbol__in=self.markets)
        conn = self.lock_connection()
        for market_id, symbol in wanted.exclude(pk__in=list(self.engines)).values_list("pk", "symbol"):
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, market_id]).fetchone()
            if not row or not row[0]:
                continue  # another worker owns it: stand by
            try:
                with connection.cursor() as cursor:  # waits for an old owner's batch, if one is writing
                    cursor.execute(
                        "UPDATE trading_market SET engine_epoch = engine_epoch + 1 "
                        "WHERE id = %s RETURNING engine_epoch",
                        [market_id],
                    )
                    epoch = cursor.fetchone()[0]
                self.engines[market_id] = MarketEngine(market_id, epoch)
            except BaseException:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, market_id])
                raise
            logger.info("engine: now running %s (epoch %d)", symbol, epoch)

    def _drop(self, market_id: int) -> None:
        self.engines.pop(market_id, None)
        if self._lock_conn is not None and not self._lock_conn.closed:
            self._lock_conn.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, market_id])

    def _release_all(self) -> None:
        for market_id in list(self.engines):
            try:
                self._drop(market_id)
            except Exception:
                logger.debug("engine: unlocking market %d failed", market_id, exc_info=True)
        if self._lock_conn is not None:
            self._lock_conn.close()

    # --- work -----------------------------------------------------------------------------------

    def step(self) -> int:
        """Run every owned market's pending commands (bounded per market); return how many ran."""
        done = 0
        for market_id, engine in list(self.engines.items()):
            deadline = time.monotonic() + MAX_DRAIN_SECONDS
            try:
                while not self.stopping and time.monotonic() < deadline:
                    limit = engine.sizer.limit
                    count = engine.run_batch(limit)
                    done += count
                    if count < limit:
                        break
            except Fenced:
                logger.warning("engine: %s was taken over by another engine; standing by", engine.symbol)
                self._drop(market_id)
        return done

    def wait_for_work(self, timeout: float) -> bool:
        """Block until a NOTIFY arrives or the timeout passes; return whether one arrived."""
        woke = False
        for _notify in self.lock_connection().notifies(timeout=timeout, stop_after=1):
            woke = True
            self.wakeups += 1
        return woke

    # --- health and figures ---------------------------------------------------------------------

    def heartbeat(self) -> None:
        now = time.time()
        if now - self._last_beat < settings.ENGINE_HEARTBEAT_SECONDS:
            return
        owned = sorted(engine.symbol for engine in self.engines.values())
        beat = {"pid": os.getpid(), "host": socket.gethostname(), "markets": list(self.markets), "owned": owned}
        try:
            cache.set(ENGINE_HEARTBEAT_KEY, beat | {"at": now}, timeout=settings.ENGINE_HEARTBEAT_SECONDS * 3)
            self._last_beat = now
        except Exception:  # Redis down: matching goes on; /healthz will say so
            logger.warning("engine: could not write the heartbeat to Redis", exc_info=True)

    def log_stats(self) -> None:
        now = time.monotonic()
        elapsed = now - self._last_stats
        if elapsed < STATS_EVERY_SECONDS:
            return
        self._last_stats = now
        for engine in self.engines.values():
            stats = engine.stats.take()
            if not stats.batches:
                continue
            latencies = sorted(stats.latencies_ms)
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            logger.info(
                "engine %s: %.0f commands/s, %d trades, %d batches, batch latency median %.1f ms, p99 %.1f ms, "
                "batch limit %d",
                engine.symbol,
                stats.commands / elapsed,
                stats.trades,
                stats.batches,
                statistics.median(latencies),
                p99,
                engine.sizer.limit,
            )

    def _reset_connections(self) -> None:
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
