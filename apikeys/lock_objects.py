"""Every row lock of the apikeys app."""

from __future__ import annotations

from apikeys.models import ApiKey
from exchange.core.errors import NotFound


def lock_api_key(*, user_id: int, key_id: int) -> ApiKey:
    """Lock one of the user's keys for the rest of the transaction; anyone else's is 'not found'."""
    api_key = ApiKey.objects.select_for_update().filter(pk=key_id, user_id=user_id).first()
    if api_key is None:
        raise NotFound("No such API key.")
    return api_key
