"""How the OpenAPI schema describes API-key authentication."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-KEY",
            "description": "With X-API-TIMESTAMP (ms since the epoch, within 5 s) and X-API-SIGNATURE: hex "
            'HMAC-SHA256 with the secret of timestamp + METHOD + path + ("?" + query) + body.',
        }
