"""gunicorn's settings for the web process: uvicorn workers on the exchange's ASGI application.

One worker per core the process may use, unless WEB_CONCURRENCY says otherwise (bench/bench_rest.py
measured this against one daphne process and against granian: docs/performance.md). Each worker is
a process of its own with its own event loop, its own database pool and its own stream fan-out, so
the web tier scales by adding workers here or replicas in docker-compose.yml.

The database budget is workers x DB_POOL_MAX_SIZE per web process. Django runs the synchronous code
of each request in a thread of its own, which borrows a pooled connection and gives it back: the
pool (4 by default) bounds how many queries one worker has in flight, and a request beyond that
waits for a connection up to DB_POOL_TIMEOUT_SECONDS. On a machine of few cores, where PostgreSQL
runs too, more connections would only queue inside the database instead.

    .venv/bin/gunicorn -c exchange/gunicorn_config.py exchange.asgi:application
"""

from __future__ import annotations

import os

bind = f"{os.environ.get('WEB_HOST', '127.0.0.1')}:{os.environ.get('WEB_PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
worker_class = "exchange.web_worker.Worker"
# Each worker loads the application itself (no preload): its pool and its Redis connections are its own.
preload_app = False
timeout = 30  # a worker silent this long is killed and replaced
graceful_timeout = 10
keepalive = 5
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
accesslog = os.environ.get("WEB_ACCESS_LOG") or None  # "-" for stdout
# gunicorn's control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl): a second web
# process of the same user (another checkout, a test) would take it over. Nothing here uses it.
control_socket_disable = True

# The workers' database connections come from a pool each, not one per request (with a pool, the
# settings keep no connection per thread: CONN_MAX_AGE is 0).
os.environ.setdefault("DB_POOL_MAX_SIZE", "4")
