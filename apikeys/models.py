"""API keys: a user's programs sign requests with them (see apikeys/authentication.py).

Only a hash of the key is stored for lookup; the signing secret is stored encrypted (apikeys/crypto.py)
because the server needs it back to check signatures. Scopes say what a key may do; an optional IP
whitelist says from where. Usage is counted in Redis on the hot path and flushed to `ApiKeyUsage`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from exchange.core.scopes import ApiKeyCredential


class ApiKey(ApiKeyCredential, models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=64)
    prefix = models.CharField(max_length=12, help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)  # SHA-256 of the whole key, hex
    secret_encrypted = models.TextField()
    scopes = models.JSONField(default=list)  # a list of Scope values
    ip_whitelist = models.JSONField(default=list, blank=True)  # addresses and CIDR ranges; empty: any
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"])]
        constraints = [models.CheckConstraint(condition=~Q(label=""), name="apikeys_label_not_empty")]

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class ApiKeyUsage(models.Model):
    """Requests per key, day and endpoint (flushed from Redis by a periodic task)."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    endpoint = models.CharField(max_length=120)  # METHOD + the URL pattern's route
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "day", "endpoint"], name="apikeys_usage_unique")]
        ordering = ["-day", "endpoint"]

    def __str__(self) -> str:
        return f"{self.key_id} {self.day} {self.endpoint}: {self.requests}"
