"""/api/wallet: balances, deposits, withdrawals, history, deposit addresses, the address book."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from exchange.core.errors import NotFound, ValidationFailed
from exchange.core.money import parse_amount
from exchange.core.pagination import Pagination, paginated
from exchange.core.scopes import NO_API_KEYS, Scope
from kyc import policy
from wallets import selectors, services, withdrawals
from wallets.models import DepositAddress, WalletSettings, WithdrawalAddress
from wallets.payloads import (
    ADDRESS_BOOK_ENTRY_SCHEMA,
    ADDRESS_BOOK_SCHEMA,
    BALANCE_SCHEMA,
    DEPOSIT_ADDRESS_SCHEMA,
    WALLET_SETTINGS_SCHEMA,
    TransactionSerializer,
    address_book_entry_payload,
    address_book_payload,
    balance_payload,
    deposit_address_payload,
    deposit_payload,
    transaction_row_payload,
    wallet_settings_payload,
    withdrawal_payload,
)


class BalancesApi(APIView):
    required_scopes = {"GET": Scope.READ}

    @extend_schema(responses={200: BALANCE_SCHEMA})
    def get(self, request: Request) -> Response:
        return Response([balance_payload(b) for b in selectors.balances_of(user=authenticated_user(request))])


class DepositApi(APIView):
    """Simulated networks only (development and demo): someone sends `amount` to your deposit address."""

    required_scopes = NO_API_KEYS

    class InputSerializer(serializers.Serializer[Any]):
        asset = serializers.CharField(max_length=16)
        amount = serializers.JSONField()

        class Meta:
            ref_name = "DepositInput"

    @extend_schema(request=InputSerializer, responses={201: TransactionSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        asset = services.asset_by_code(data.validated_data["asset"])
        amount = parse_amount(data.validated_data["amount"], asset=asset)
        deposit = services.simulate_incoming_deposit(user_id=authenticated_user(request).pk, asset=asset, amount=amount)
        return Response(deposit_payload(deposit), status=status.HTTP_201_CREATED)


class WithdrawApi(APIView):
    required_scopes = {"POST": Scope.WITHDRAW}
    rate_limit_scopes = {"POST": "withdraw"}

    class InputSerializer(serializers.Serializer[Any]):
        asset = serializers.CharField(max_length=16)
        amount = serializers.JSONField()
        address = serializers.CharField(max_length=200)
        otp = serializers.CharField(max_length=32, required=False, allow_blank=True)
        client_id = serializers.CharField(max_length=64, required=False, allow_blank=True)

        class Meta:
            ref_name = "WithdrawInput"

    @extend_schema(request=InputSerializer, responses={201: TransactionSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = withdrawals.request_withdrawal(
            user=authenticated_user(request),
            asset=services.asset_by_code(data.validated_data["asset"]),
            amount=data.validated_data["amount"],
            address=data.validated_data["address"],
            otp=data.validated_data.get("otp") or None,
            client_id=data.validated_data.get("client_id", ""),
        )
        return Response(withdrawal_payload(withdrawal), status=status.HTTP_201_CREATED)


class WithdrawalDetailApi(APIView):
    required_scopes = {"GET": Scope.READ}

    @extend_schema(responses={200: TransactionSerializer})
    def get(self, request: Request, withdrawal_id: int) -> Response:
        withdrawal = selectors.access_withdrawal_by_id(user=authenticated_user(request), withdrawal_id=withdrawal_id)
        return Response(withdrawal_payload(withdrawal))


class WithdrawalConfirmApi(APIView):
    required_scopes = {"POST": Scope.WITHDRAW}
    rate_limit_scopes = {"POST": "withdraw"}

    class InputSerializer(serializers.Serializer[Any]):
        token = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "WithdrawalConfirmInput"

    @extend_schema(request=InputSerializer, responses={200: TransactionSerializer})
    def post(self, request: Request, withdrawal_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        selectors.access_withdrawal_by_id(user=authenticated_user(request), withdrawal_id=withdrawal_id)
        withdrawal = withdrawals.confirm_withdrawal(withdrawal_id=withdrawal_id, token=data.validated_data["token"])
        withdrawal.refresh_from_db()
        return Response(withdrawal_payload(withdrawal))


class WithdrawalResendConfirmationApi(APIView):
    """Email a new confirmation link (the earlier links stop working); once a minute at most."""

    required_scopes = {"POST": Scope.WITHDRAW}
    rate_limit_scopes = {"POST": "withdraw"}

    @extend_schema(request=None, responses={200: TransactionSerializer})
    def post(self, request: Request, withdrawal_id: int) -> Response:
        withdrawal = withdrawals.resend_confirmation(user=authenticated_user(request), withdrawal_id=withdrawal_id)
        return Response(withdrawal_payload(withdrawal))


class WithdrawalCancelApi(APIView):
    required_scopes = {"POST": Scope.WITHDRAW}

    @extend_schema(request=None, responses={200: TransactionSerializer})
    def post(self, request: Request, withdrawal_id: int) -> Response:
        withdrawal = withdrawals.cancel_withdrawal(user=authenticated_user(request), withdrawal_id=withdrawal_id)
        return Response(withdrawal_payload(withdrawal))


class TransactionsApi(APIView):
    required_scopes = {"GET": Scope.READ}

    @extend_schema(
        parameters=[
            OpenApiParameter("asset", str, required=False),
            OpenApiParameter("type", str, enum=["deposit", "withdrawal"], required=False),
        ],
        responses={200: paginated("WalletTransactionPage", TransactionSerializer(many=True))},
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("type") or None
        if kind not in {None, "deposit", "withdrawal"}:
            raise ValidationFailed("type is deposit or withdrawal.", details={"type": ["deposit or withdrawal"]})
        code = request.query_params.get("asset")
        asset = services.asset_by_code(code) if code else None
        rows = selectors.transactions_of(user=authenticated_user(request), asset=asset, kind=kind)
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, self) or []
        return paginator.get_paginated_response([transaction_row_payload(row) for row in page])


class DepositAddressesApi(APIView):
    required_scopes = {"GET": Scope.READ}

    class InputSerializer(serializers.Serializer[Any]):
        asset = serializers.CharField(max_length=16)

        class Meta:
            ref_name = "DepositAddressInput"

    @extend_schema(responses={200: type(DEPOSIT_ADDRESS_SCHEMA)(many=True)})
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        policy.require(user, policy.Activity.DEPOSIT)  # no address to send to while deposits are not allowed
        return Response(
            [deposit_address_payload(a) for a in DepositAddress.objects.filter(user=user).select_related("asset")]
        )

    @extend_schema(request=InputSerializer, responses={201: DEPOSIT_ADDRESS_SCHEMA})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        asset = services.asset_by_code(data.validated_data["asset"])
        address = services.deposit_address(user_id=authenticated_user(request).pk, asset=asset)
        return Response(deposit_address_payload(address), status=status.HTTP_201_CREATED)


class AddressBookApi(APIView):
    required_scopes = {"GET": Scope.READ}

    class InputSerializer(serializers.Serializer[Any]):
        asset = serializers.CharField(max_length=16)
        address = serializers.CharField(max_length=200)
        label = serializers.CharField(max_length=64, required=False, allow_blank=True)  # type: ignore[assignment]

        class Meta:
            ref_name = "AddressBookInput"

    @extend_schema(responses={200: ADDRESS_BOOK_SCHEMA})
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        entries = WithdrawalAddress.objects.filter(user=user).select_related("asset")
        settings_row = WalletSettings.objects.filter(user=user).first()
        return Response(address_book_payload(settings_row, entries))

    @extend_schema(request=InputSerializer, responses={201: ADDRESS_BOOK_ENTRY_SCHEMA})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = withdrawals.add_address(
            user=authenticated_user(request),
            asset=services.asset_by_code(data.validated_data["asset"]),
            address=data.validated_data["address"],
            label=data.validated_data.get("label", ""),
        )
        return Response(address_book_entry_payload(entry), status=status.HTTP_201_CREATED)


class AddressBookEntryApi(APIView):
    required_scopes = NO_API_KEYS

    @extend_schema(responses={204: None})
    def delete(self, request: Request, entry_id: int) -> Response:
        deleted, _ = WithdrawalAddress.objects.filter(pk=entry_id, user=authenticated_user(request)).delete()
        if not deleted:
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WalletSettingsApi(APIView):
    required_scopes = NO_API_KEYS

    class InputSerializer(serializers.Serializer[Any]):
        whitelist_only = serializers.BooleanField()
        otp = serializers.CharField(max_length=32, required=False, allow_blank=True)

        class Meta:
            ref_name = "WalletSettingsInput"

    @extend_schema(request=InputSerializer, responses={200: WALLET_SETTINGS_SCHEMA})
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = withdrawals.set_whitelist_only(
            user=authenticated_user(request),
            enabled=data.validated_data["whitelist_only"],
            otp=data.validated_data.get("otp") or None,
        )
        return Response(wallet_settings_payload(row))
