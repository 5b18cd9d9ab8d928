from __future__ import annotations

from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """The project as an app: what spans the others (bootstrap, the home pages, the admin site, the API)."""

    name = "exchange"
    verbose_name = "Exchange"

    def ready(self) -> None:
        # The Celery app, the default one in every thread of the process: loaded with Django, not with the
        # package (exchange/__init__.py says why).
        import exchange.core.celery  # noqa: F401, PLC0415
