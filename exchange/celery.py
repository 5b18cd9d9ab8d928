"""The Celery application: broker on Redis, configuration from Django settings (CELERY_*).

Importing this module sets nothing in the environment: the celery processes get
DJANGO_SETTINGS_MODULE from the Procfile or the image, as every other entry point does.
"""

from __future__ import annotations

from celery import Celery

app = Celery("exchange")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
