from __future__ import annotations

from django.apps import AppConfig

# The module, not the class: a second AppConfig subclass imported by name here would make Django's
# choice of this app's default config ambiguous.
from django.contrib.admin import apps as admin_apps


class ExchangeConfig(AppConfig):
    """The project as an app: what spans the others (bootstrap, the home pages, the admin site, the API)."""

    name = "exchange"
    verbose_name = "Exchange"

    def ready(self) -> None:
        # The Celery app, the default one in every thread of the process: loaded with Django, not with the
        # package (exchange/__init__.py says why).
        import exchange.core.celery  # noqa: F401, PLC0415


class ExchangeAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the exchange's site as `admin.site`, the one every app's admin.py registers with."""

    default = False  # installed by its dotted path in place of django.contrib.admin, never as exchange's config
    default_site = "exchange.admin_site.ExchangeAdminSite"
