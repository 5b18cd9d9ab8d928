"""The Celery application: broker on Redis, configuration from Django settings (CELERY_*).

As Celery's Django guide has it, the settings module defaults to the base settings before the app
exists, so `celery -A exchange.core.celery worker` works as written and Celery's Django fixup is installed in
every process that loads it: Django (through the project's AppConfig.ready, exchange/apps.py) and the
celery command.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings.base")

app = Celery("exchange")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# `Celery()` makes an app current only in the thread that creates it. Any other thread (the ASGI
# server runs each sync view in a pool thread) resolved `shared_task`s to Celery's fallback app,
# whose broker is amqp://localhost: tasks queued by requests went there and never reached the
# worker. As the default app, this one is what every thread of the process uses.
app.set_default()
