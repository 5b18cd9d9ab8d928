"""Tasks queued from any thread of a server process go to the broker the worker reads."""

from __future__ import annotations

import os
import subprocess
import sys

from trading.tests.processes import BASE_DIR

# What an ASGI server does: import the application, then run a sync view in a pool thread.
QUEUE_FROM_A_POOL_THREAD = """
from concurrent.futures import ThreadPoolExecutor
import exchange.asgi
from django.conf import settings
from wallets.tasks import send_withdrawal_confirmation

def broker():
    return send_withdrawal_confirmation._get_app().conf.broker_url

with ThreadPoolExecutor(1) as pool:
    print(pool.submit(broker).result())
print(settings.CELERY_BROKER_URL)
"""


def test_a_task_queued_from_a_server_pool_thread_goes_to_the_configured_broker():
    # Given a process started as the web server is, with no DJANGO_SETTINGS_MODULE in its environment
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    # When a task is queued from a thread of its pool
    result = subprocess.run(
        [sys.executable, "-c", QUEUE_FROM_A_POOL_THREAD],
        cwd=BASE_DIR,
        env={**env, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it goes to the broker of the settings, not to Celery's fallback app (amqp://localhost)
    assert result.returncode == 0, result.stderr
    used, configured = result.stdout.split()
    assert used == configured
    assert used.startswith(("redis://", "redis+socket://"))
