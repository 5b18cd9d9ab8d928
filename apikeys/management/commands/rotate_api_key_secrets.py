"""python manage.py rotate_api_key_secrets: re-encrypt every key's secret with the first encryption key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from apikeys import crypto
from apikeys.models import ApiKey


class Command(BaseCommand):
    help = "Re-encrypt API keys' signing secrets with the first of API_KEY_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for api_key in ApiKey.objects.select_for_update().only("pk", "secret_encrypted"):
                api_key.secret_encrypted = crypto.rotate(api_key.secret_encrypted)
                api_key.save(update_fields=["secret_encrypted"])
                count += 1
        self.stdout.write(f"{count} API key secrets re-encrypted with the first key")
