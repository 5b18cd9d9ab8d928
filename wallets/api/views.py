"""/api/wallet: balances, deposits, withdrawals, history, deposit addresses, the address book."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from exchange.core.errors import NotFound, ValidationFailed
from exchange.core.money import parse_amount, plain, trimmed
from exchange.core.pagination import Pagination, paginated
from exchange.core.scopes import NO_API_KEYS, Scope
from kyc import policy
from wallets import selectors, services, withdrawals
from wallets.models import Deposit, DepositAddress, DepositStatus, WalletSettings, Withdrawal, WithdrawalAddress


def _schema(name: str, **fields: serializers.Field[Any, Any, Any, Any]) -> Any:
    """An inline response serializer for the OpenAPI schema."""
    return inline_serializer(name, fields)


DEPOSIT_ADDRESS_SCHEMA = _schema(
    "DepositAddress",
    asset=serializers.CharField(),
    address=serializers.CharField(),
    created_at=serializers.DateTimeField(),
)
ADDRESS_BOOK_ENTRY_SCHEMA = _schema(
    "AddressBookEntry",
    id=serializers.IntegerField(),
    asset=serializers.CharField(),
    address=serializers.CharField(),
    label=serializers.CharField(),
    created_at=serializers.DateTimeField(),
)
WALLET_SETTINGS_SCHEMA = _schema("WalletSettings", whitelist_only=serializers.BooleanField())


class TransactionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    type = serializers.CharField()
    asset = serializers.CharField()
    amount = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    txid = serializers.CharField()

    class Meta:
        ref_name = "WalletTransaction"


def deposit_payload(deposit: Deposit) -> dict[str, Any]:
    return {
        "id": deposit.pk,
        "type": "deposit",
        "asset": deposit.asset.code,
        "amount": plain(deposit.amount, deposit.asset.decimals),
        "status": deposit.status,
        "created_at": deposit.seen_at,
        "txid": deposit.txid,
        "confirmations": deposit.confirmations,
        "confirmations_required": deposit.asset.confirmations_required,
        "reason": deposit.hold_reason if deposit.status == DepositStatus.REJECTED else "",
    }


def withdrawal_payload(withdrawal: Withdrawal) -> dict[str, Any]:
    places = withdrawal.asset.decimals
    return {
        "id": withdrawal.pk,
        "type": "withdrawal",
        "asset": withdrawal.asset.code,
        "amount": plain(withdrawal.amount, places),
        "fee": plain(withdrawal.fee, places),
        "net_amount": plain(withdrawal.net_amount, places),
        "address": withdrawal.address,
        "status": withdrawal.status,
        "created_at": withdrawal.requested_at,
        "txid": withdrawal.txid,
        "reason": withdrawal.failure_reason or withdrawal.review_reason,
        "confirmation_sent_at": withdrawal.confirmation_sent_at,
    }


class BalancesApi(APIView):
    required_scopes = {"GET": Scope.READ}

    @extend_schema(
        responses={
            200: inline_serializer(
                "Balance",
                {
                    "asset": serializers.CharField(),
                    "available": serializers.CharField(),
                    "locked": serializers.CharField(),
                },
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        return Response(
            [
                {"asset": b.asset, "available": plain(b.available), "locked": plain(b.locked)}
                for b in selectors.balances_of(user=authenticated_user(request))
            ]
        )


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
        return paginator.get_paginated_response(
            [
                {
                    "id": row["id"],
                    "type": row["type"],
                    "asset": row["asset_code"],
                    "amount": trimmed(row["amount_"]),
                    "status": row["status_"],
                    "created_at": row["created_at"],
                    "txid": row["txid_"],
                }
                for row in page
            ]
        )


class DepositAddressesApi(APIView):
    required_scopes = {"GET": Scope.READ}

    class InputSerializer(serializers.Serializer[Any]):
        asset = serializers.CharField(max_length=16)

        class Meta:
            ref_name = "DepositAddressInput"

    def _payload(self, address: DepositAddress) -> dict[str, Any]:
        return {"asset": address.asset.code, "address": address.address, "created_at": address.created_at}

    @extend_schema(responses={200: type(DEPOSIT_ADDRESS_SCHEMA)(many=True)})
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        policy.require(user, policy.Activity.DEPOSIT)  # no address to send to while deposits are not allowed
        return Response([self._payload(a) for a in DepositAddress.objects.filter(user=user).select_related("asset")])

    @extend_schema(request=InputSerializer, responses={201: DEPOSIT_ADDRESS_SCHEMA})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        asset = services.asset_by_code(data.validated_data["asset"])
        address = services.deposit_address(user_id=authenticated_user(request).pk, asset=asset)
        return Response(self._payload(address), status=status.HTTP_201_CREATED)


def _address_payload(entry: WithdrawalAddress) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "asset": entry.asset.code,
        "address": entry.address,
        "label": entry.label,
        "created_at": entry.created_at,
    }


class AddressBookApi(APIView):
    required_scopes = {"GET": Scope.READ}

    class InputSerializer(serializers.Serializer[Any]):
        asset = serializers.CharField(max_length=16)
        address = serializers.CharField(max_length=200)
        label = serializers.CharField(max_length=64, required=False, allow_blank=True)  # type: ignore[assignment]

        class Meta:
            ref_name = "AddressBookInput"

    @extend_schema(
        responses={
            200: _schema(
                "AddressBook",
                whitelist_only=serializers.BooleanField(),
                addresses=serializers.ListField(child=serializers.DictField()),
            )
        }
    )
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        entries = WithdrawalAddress.objects.filter(user=user).select_related("asset")
        settings_row = WalletSettings.objects.filter(user=user).first()
        return Response(
            {
                "whitelist_only": bool(settings_row and settings_row.whitelist_only),
                "addresses": [_address_payload(e) for e in entries],
            }
        )

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
        return Response(_address_payload(entry), status=status.HTTP_201_CREATED)


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
        return Response({"whitelist_only": row.whitelist_only})
