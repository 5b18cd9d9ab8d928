"""Queue Celery tasks by name, after the transaction that calls for them commits.

Services hand their jobs here instead of importing task modules: no import circle between a
service and its tasks, and one place that makes sure a job that cannot be queued is never lost
silently (the broker away, a misspelt name): it is logged as an error with its arguments, and the
caller's transaction, already committed, stands. What depends on a job being done (a withdrawal's
confirmation email) shows its state to the user, who can ask again.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from celery import Task
from django.db import transaction

from exchange.core.celery import app

logger = logging.getLogger(__name__)


def _task(name: str) -> Task[Any, Any]:
    """Return the task named `<module>.<function>`, importing its module on first use.

    A process that is not a worker (the web server) never ran Celery's autodiscovery; its loader
    would also set Django up again (and reconfigure logging), so the one module is imported instead.
    """
    if name not in app.tasks:
        importlib.import_module(name.rpartition(".")[0])
    return app.tasks[name]


def enqueue(task_name: str, *args: Any, **kwargs: Any) -> bool:
    """Queue a task now; return whether it was queued (a failure is logged, never raised)."""
    try:
        _task(task_name).apply_async(args=args, kwargs=kwargs)
    except Exception:
        logger.exception("could not queue task %s (args %r, kwargs %r)", task_name, args, kwargs)
        return False
    return True


def enqueue_on_commit(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Queue a task once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task_name, *args, **kwargs))
