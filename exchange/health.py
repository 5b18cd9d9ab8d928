"""GET /healthz: are the database, Redis and the job broker reachable from here, and an engine alive?"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from exchange.core.celery import app
from trading.worker import ENGINE_HEARTBEAT_KEY

logger = logging.getLogger(__name__)


def check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except Exception:
        logger.exception("healthz: database check failed")
        return False


def check_redis() -> bool:
    try:
        token = str(time.monotonic_ns())
        cache.set("healthz", token, timeout=10)
        return bool(cache.get("healthz") == token)
    except Exception:
        logger.exception("healthz: redis check failed")
        return False


def check_broker() -> bool:
    """Return whether this process reaches the broker its jobs are queued on (the worker's)."""
    try:
        with app.connection_for_write(connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return True
    except Exception:
        logger.exception("healthz: broker check failed (%s)", app.conf.broker_url)
        return False


def check_engine() -> bool:
    """Return whether a matching-engine worker wrote its heartbeat recently."""
    try:
        return cache.get(ENGINE_HEARTBEAT_KEY) is not None
    except Exception:
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = check_database()
    redis = check_redis()
    broker = check_broker()
    engine = redis and check_engine()
    healthy = database and redis and broker and engine
    body = {
        "status": "ok" if healthy else "degraded",
        "database": "ok" if database else "error",
        "redis": "ok" if redis else "error",
        "broker": "ok" if broker else "error",
        "engine": "ok" if engine else "down",
    }
    return JsonResponse(body, status=200 if healthy else 503)
