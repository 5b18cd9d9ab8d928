from __future__ import annotations

from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        # Registers the OpenAPI description of API-key auth, once the apps (and its models) are ready.
        from apikeys import schema  # noqa: F401, PLC0415
