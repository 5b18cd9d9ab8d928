"""The last ledger audit's result, remembered for the admin dashboard.

`manage.py audit_ledger` (and the dashboard's "run it now") record what they found here, in the
cache (Redis): a small record that survives restarts of the web processes. Redis emptied, the
dashboard says no audit has been recorded, and the next run records one again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from wallets.audit import AuditResult, run_audit

logger = logging.getLogger(__name__)
KEY = "wallets:ledger-audit:last"
KEPT_PROBLEMS = 20  # the first ones say what broke; the count says how much


@dataclass(frozen=True)
class AuditRun:
    finished_at: datetime
    ok: bool
    problem_count: int
    problems: list[str]
    source: str  # who ran it: "manage.py audit_ledger", "admin: <username>"

    @property
    def more(self) -> int:
        """How many problems were found beyond those kept."""
        return self.problem_count - len(self.problems)


def record_audit(result: AuditResult, *, source: str) -> AuditRun:
    """Remember an audit's result as the last one (a cache that is away loses it, and says so in the log)."""
    run = AuditRun(
        finished_at=timezone.now(),
        ok=result.ok,
        problem_count=len(result.problems),
        problems=result.problems[:KEPT_PROBLEMS],
        source=source,
    )
    payload = {
        "finished_at": run.finished_at.isoformat(),
        "ok": run.ok,
        "problem_count": run.problem_count,
        "problems": run.problems,
        "source": run.source,
    }
    try:
        cache.set(KEY, payload, timeout=None)
    except Exception:
        logger.exception("could not record the ledger audit's result (ok=%s)", run.ok)
    return run


def scheduled_audit(*, source: str) -> bool:
    """Check the ledger's invariants on a schedule and record the result; log an error when broken. Return if sound.

    The log line is what alerts: nobody reads the dashboard at the hour an invariant breaks.
    """
    result = run_audit()
    record_audit(result, source=source)
    if not result.ok:
        logger.error("ledger audit: %d problem(s): %s", len(result.problems), "; ".join(result.problems[:5]))
    return result.ok


def last_audit() -> AuditRun | None:
    """Return the last audit recorded, or None (none yet, or the cache is unreachable)."""
    try:
        payload = cache.get(KEY)
    except Exception:
        logger.exception("could not read the last ledger audit's result")
        return None
    if not isinstance(payload, dict):
        return None
    return AuditRun(
        finished_at=datetime.fromisoformat(payload["finished_at"]),
        ok=bool(payload["ok"]),
        problem_count=int(payload["problem_count"]),
        problems=[str(problem) for problem in payload["problems"]],
        source=str(payload["source"]),
    )
