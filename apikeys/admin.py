"""API keys are the users' own: staff may see that they exist and revoke none (users revoke theirs)."""

from __future__ import annotations

from django.contrib import admin

from apikeys.models import ApiKey
from exchange.core.admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("label", "prefix", "user", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "prefix", "label")
    exclude = ("key_hash", "secret_encrypted")
