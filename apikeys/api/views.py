"""/api/api-keys: create (the secret is shown once), list, change, revoke, usage. Never with an API key."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from apikeys import services, usage
from apikeys.models import ApiKey
from exchange.core.scopes import NO_API_KEYS, Scope


def key_payload(api_key: ApiKey) -> dict[str, Any]:
    return {
        "id": api_key.pk,
        "label": api_key.label,
        "prefix": api_key.prefix,
        "scopes": api_key.scopes,
        "ip_whitelist": api_key.ip_whitelist,
        "expires_at": api_key.expires_at,
        "created_at": api_key.created_at,
        "revoked_at": api_key.revoked_at,
        "last_used_at": api_key.last_used_at,
        "last_used_ip": api_key.last_used_ip,
        "active": api_key.is_active,
    }


class KeySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    ip_whitelist = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    last_used_ip = serializers.CharField(allow_null=True)
    active = serializers.BooleanField()


class NewKeySerializer(KeySerializer):
    key = serializers.CharField()
    secret = serializers.CharField(help_text="Shown this once: store it now.")


class ApiKeysApi(APIView):
    required_scopes = NO_API_KEYS
    rate_limit_scopes = {"POST": "otp"}

    class InputSerializer(serializers.Serializer[Any]):
        label = serializers.CharField(max_length=64)  # type: ignore[assignment]
        scopes = serializers.JSONField(help_text='A list of "read", "trade", "withdraw".')
        ip_whitelist = serializers.JSONField(required=False, help_text="Addresses and CIDR ranges; empty: any.")
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        otp = serializers.CharField(max_length=32, required=False, allow_blank=True)

        class Meta:
            ref_name = "ApiKeyInput"

    @extend_schema(responses={200: KeySerializer(many=True)})
    def get(self, request: Request) -> Response:
        keys = ApiKey.objects.filter(user=authenticated_user(request))
        return Response([key_payload(api_key) for api_key in keys])

    @extend_schema(
        request=InputSerializer,
        responses={201: NewKeySerializer},
        description="Create a key. Needs `otp` when 2FA is on. The response is the only time the secret is shown.",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.create_key(
            user=authenticated_user(request),
            label=data.validated_data["label"],
            scopes=data.validated_data["scopes"],
            ip_whitelist=data.validated_data.get("ip_whitelist"),
            expires_at=data.validated_data.get("expires_at"),
            otp=data.validated_data.get("otp") or None,
        )
        body = key_payload(new.api_key) | {"key": new.key, "secret": new.secret}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    required_scopes = NO_API_KEYS
    rate_limit_scopes = {"PATCH": "otp"}  # a change may carry a code

    class ChangeSerializer(serializers.Serializer[Any]):
        label = serializers.CharField(max_length=64, required=False)  # type: ignore[assignment]
        scopes = serializers.JSONField(required=False)
        ip_whitelist = serializers.JSONField(required=False)
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        otp = serializers.CharField(max_length=32, required=False, allow_blank=True)

        class Meta:
            ref_name = "ApiKeyChange"

    @extend_schema(
        request=ChangeSerializer,
        responses={200: KeySerializer},
        description="Change a key. Needs `otp` when 2FA is on and the change widens the key: a scope it "
        "lacked, a whitelist removed or covering new addresses, a later expiry or none.",
    )
    def patch(self, request: Request, key_id: int) -> Response:
        data = self.ChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        otp = changes.pop("otp", None) or None
        changed = services.update_key(user=authenticated_user(request), key_id=key_id, changes=changes, otp=otp)
        return Response(key_payload(changed))

    @extend_schema(request=None, responses={200: KeySerializer}, description="Revoke the key, at once.")
    def delete(self, request: Request, key_id: int) -> Response:
        return Response(key_payload(services.revoke_key(user=authenticated_user(request), key_id=key_id)))


class ApiKeyUsageApi(APIView):
    required_scopes = NO_API_KEYS

    @extend_schema(
        responses={
            200: inline_serializer(
                "ApiKeyUsage",
                {
                    "id": serializers.IntegerField(),
                    "last_used_at": serializers.DateTimeField(allow_null=True),
                    "last_used_ip": serializers.CharField(allow_null=True),
                    "days": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
        description="Requests per day and endpoint (counted in Redis, written here within a minute).",
    )
    def get(self, request: Request, key_id: int) -> Response:
        api_key = services.key_of(user=authenticated_user(request), key_id=key_id)
        usage.flush_usage()
        api_key.refresh_from_db()
        days: dict[str, dict[str, int]] = {}
        for row in api_key.usage.all():
            days.setdefault(row.day.isoformat(), {})[row.endpoint] = row.requests
        return Response(
            {
                "id": api_key.pk,
                "last_used_at": api_key.last_used_at,
                "last_used_ip": api_key.last_used_ip,
                "days": [{"day": day, "requests": sum(e.values()), "endpoints": e} for day, e in days.items()],
            }
        )
