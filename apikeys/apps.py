from __future__ import annotations

from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from apikeys import schema  # noqa: F401  (registers the OpenAPI description of API-key auth)
