"""What an API key may do, as the layers below the apikeys app see it.

A key carries scopes; a view states the ones a key needs (apikeys/ARCHITECTURE "Authentication").
The key model (apikeys.models.ApiKey) is an `ApiKeyCredential`, so what sits below that app (the rate
limits, the permissions) recognises a request signed by a key without importing it.
"""

from __future__ import annotations

from django.db import models


class Scope(models.TextChoices):
    READ = "read", "Read"
    TRADE = "trade", "Trade"
    WITHDRAW = "withdraw", "Withdraw"


class ApiKeyCredential:
    """The base of the API-key model: `request.auth` is one when a signed key authenticated the request."""

    pk: int | None
    scopes: list[str]
