from __future__ import annotations

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Imported once the apps are ready (both load models): audit connects the sign-in signals to the log.
        from accounts import audit, services  # noqa: F401, PLC0415

        # Every logout (the site's, the admin's) ends the streams its session authenticated.
        user_logged_out.connect(services.end_session_streams, dispatch_uid="accounts.end_session_streams")
