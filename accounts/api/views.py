"""/api/auth and /api/security: one APIView per operation, input and output serializers inside."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.selectors import authenticated_user
from exchange.core.scopes import NO_API_KEYS, Scope


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()


class UserRegisterApi(APIView):
    required_scopes = NO_API_KEYS
    rate_limit_scopes = {"POST": "register"}
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "UserRegisterInput"

        username = serializers.CharField(max_length=150, trim_whitespace=True)
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "UserRegisterOutput"

        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.register_user(**data.validated_data)
        return Response(self.OutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserLoginApi(APIView):
    """Exchange credentials (and a code when 2FA is on) for a JWT access/refresh pair."""

    required_scopes = NO_API_KEYS
    rate_limit_scopes = {"POST": "login"}

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "UserLoginInput"

        username = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=4096, trim_whitespace=False)
        otp = serializers.CharField(max_length=32, required=False, allow_blank=True)

    @extend_schema(request=InputSerializer, responses={200: TokenPairSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.login_api(
            request=request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            otp=data.validated_data.get("otp") or None,
        )
        return Response(TokenPairSerializer(pair).data)


class TokenRefreshApi(APIView):
    """Rotate a refresh token: the old one is blacklisted, a new pair comes back."""

    required_scopes = NO_API_KEYS
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TokenRefreshInput"

        refresh = serializers.CharField(max_length=4096)

    @extend_schema(request=InputSerializer, responses={200: TokenPairSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.refresh_tokens(refresh=data.validated_data["refresh"])
        return Response(TokenPairSerializer(pair).data)


class UserLogoutApi(APIView):
    """Blacklist the given refresh token of the signed-in user."""

    required_scopes = NO_API_KEYS
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "UserLogoutInput"

        refresh = serializers.CharField(max_length=4096)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.logout_tokens(user=authenticated_user(request), refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserMeApi(APIView):
    required_scopes = {"GET": Scope.READ}

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "UserMeOutput"

        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField()
        kyc_status = serializers.CharField()
        kyc_level = serializers.IntegerField()
        two_factor_enabled = serializers.BooleanField()
        is_staff = serializers.BooleanField()
        date_joined = serializers.DateTimeField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        payload = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "kyc_status": user.kyc_status,
            "kyc_level": user.kyc_level,
            "two_factor_enabled": services.has_two_factor(user),
            "is_staff": user.is_staff,
            "date_joined": user.date_joined,
        }
        return Response(self.OutputSerializer(payload).data)


class OtpInputSerializer(serializers.Serializer[Any]):
    otp = serializers.CharField(max_length=32)


class TwoFactorSetupApi(APIView):
    """Start enabling 2FA: a new secret, its otpauth:// URI and a QR code to scan."""

    required_scopes = NO_API_KEYS
    rate_limit_scopes = {"POST": "otp"}

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TwoFactorSetupOutput"

        secret = serializers.CharField()
        otpauth_uri = serializers.CharField()
        qr_svg = serializers.CharField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        setup = services.start_two_factor_setup(user=authenticated_user(request))
        return Response(self.OutputSerializer(setup).data)


class TwoFactorVerifyApi(APIView):
    """Turn 2FA on with a current code; returns one-time backup codes, shown this once."""

    required_scopes = NO_API_KEYS
    rate_limit_scopes = {"POST": "otp"}

    @extend_schema(
        request=OtpInputSerializer,
        responses={
            200: inline_serializer(
                "TwoFactorEnabled",
                {
                    "enabled": serializers.BooleanField(),
                    "backup_codes": serializers.ListField(child=serializers.CharField()),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        data = OtpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        codes = services.confirm_two_factor(user=authenticated_user(request), code=data.validated_data["otp"])
        return Response({"enabled": True, "backup_codes": codes})


class TwoFactorDisableApi(APIView):
    required_scopes = NO_API_KEYS
    rate_limit_scopes = {"POST": "otp"}

    @extend_schema(
        request=OtpInputSerializer,
        responses={200: inline_serializer("TwoFactorDisabled", {"enabled": serializers.BooleanField()})},
    )
    def post(self, request: Request) -> Response:
        data = OtpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.disable_two_factor(user=authenticated_user(request), code=data.validated_data["otp"])
        return Response({"enabled": False})


class TwoFactorStatusApi(APIView):
    required_scopes = NO_API_KEYS

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TwoFactorStatusOutput"

        enabled = serializers.BooleanField()
        pending_setup = serializers.BooleanField()
        backup_codes_remaining = serializers.IntegerField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(services.two_factor_status(user=authenticated_user(request))).data)
