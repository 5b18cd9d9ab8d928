"""/api/admin: exchange wallets, cold wallets and hot/cold transfers, for treasury staff."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import StaffSecondFactor
from accounts.selectors import authenticated_user
from exchange.core.money import parse_amount, trimmed
from exchange.core.pagination import Pagination, paginated
from exchange.core.scopes import NO_API_KEYS
from wallets import services, treasury
from wallets.models import Asset, ColdWallet, ColdWalletAddressChange, ColdWalletTransfer, ColdWalletTransferDirection


class IsTreasuryStaff(BasePermission):
    message = "Only treasury staff can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_staff and user.has_perm("wallets.view_coldwallettransfer"))


# Treasury, signed in with a second factor (checked after the role: others learn nothing of it).
TREASURY_STAFF = [IsAuthenticated, IsTreasuryStaff, StaffSecondFactor]


COLD_TRANSFER_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "id": serializers.IntegerField(),
    "asset": serializers.CharField(),
    "direction": serializers.CharField(),
    "amount": serializers.CharField(),
    "status": serializers.CharField(),
    "automatic": serializers.BooleanField(),
    "requested_by": serializers.IntegerField(allow_null=True),
    "approved_by": serializers.IntegerField(allow_null=True),
    "executed_by": serializers.IntegerField(allow_null=True),
    "txid": serializers.CharField(),
    "created_at": serializers.DateTimeField(),
    "completed_at": serializers.DateTimeField(allow_null=True),
}
COLD_TRANSFER_SCHEMA = inline_serializer("ColdWalletTransfer", COLD_TRANSFER_FIELDS)
COLD_TRANSFER_LIST = type(COLD_TRANSFER_SCHEMA)(many=True)  # the same component, as a list


def transfer_payload(transfer: ColdWalletTransfer) -> dict[str, Any]:
    return {
        "id": transfer.pk,
        "asset": transfer.asset.code,
        "direction": transfer.direction,
        "amount": trimmed(transfer.amount),
        "status": transfer.status,
        "automatic": transfer.automatic,
        "requested_by": transfer.requested_by_id,
        "approved_by": transfer.approved_by_id,
        "executed_by": transfer.executed_by_id,
        "txid": transfer.txid,
        "created_at": transfer.created_at,
        "completed_at": transfer.completed_at,
    }


class ExchangeWalletsApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = TREASURY_STAFF

    @extend_schema(
        responses={
            200: inline_serializer(
                "ExchangeWallet",
                {
                    name: serializers.CharField()
                    for name in ("asset", "hot", "cold", "in_transit", "liabilities", "hot_floor", "hot_ceiling")
                },
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        rows = []
        for asset in Asset.objects.order_by("code"):
            where = treasury.position(asset=asset)
            rows.append(
                {
                    "asset": asset.code,
                    "hot": trimmed(where.hot),
                    "cold": trimmed(where.cold),
                    "in_transit": trimmed(where.in_transit),
                    "liabilities": trimmed(where.liabilities),
                    "hot_floor": trimmed(where.floor),
                    "hot_ceiling": trimmed(where.ceiling),
                }
            )
        return Response(rows)


class ColdWalletsApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = TREASURY_STAFF

    @extend_schema(
        responses={
            200: inline_serializer(
                "ColdWallet",
                {
                    "asset": serializers.CharField(),
                    "address": serializers.CharField(),
                    "label": serializers.CharField(),
                },
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        wallets = ColdWallet.objects.select_related("asset").order_by("asset__code")
        return Response([{"asset": w.asset.code, "address": w.address, "label": w.label} for w in wallets])


class ColdTransfersApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = TREASURY_STAFF

    class InputSerializer(serializers.Serializer[Any]):
        asset = serializers.CharField(max_length=16)
        direction = serializers.ChoiceField(choices=ColdWalletTransferDirection.choices)
        amount = serializers.JSONField()

        class Meta:
            ref_name = "ColdTransferInput"

    @extend_schema(responses={200: paginated("ColdWalletTransferPage", COLD_TRANSFER_LIST)})
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        queryset = ColdWalletTransfer.objects.select_related("asset").order_by("-created_at", "-pk")
        page = paginator.paginate_queryset(queryset, request, self) or []
        return paginator.get_paginated_response([transfer_payload(t) for t in page])

    @extend_schema(request=InputSerializer, responses={201: COLD_TRANSFER_SCHEMA})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        asset = services.asset_by_code(data.validated_data["asset"])
        transfer = treasury.request_transfer(
            asset=asset,
            direction=data.validated_data["direction"],
            amount=parse_amount(data.validated_data["amount"], asset=asset),
            staff=authenticated_user(request),
        )
        return Response(transfer_payload(transfer), status=status.HTTP_201_CREATED)


class ColdTransferApproveApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = TREASURY_STAFF

    @extend_schema(request=None, responses={200: COLD_TRANSFER_SCHEMA})
    def post(self, request: Request, transfer_id: int) -> Response:
        return Response(transfer_payload(treasury.approve_transfer(transfer_id=transfer_id,
                                                                   staff=authenticated_user(request))))  # fmt: skip


class ColdTransferExecuteApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = TREASURY_STAFF

    @extend_schema(request=None, responses={200: COLD_TRANSFER_SCHEMA})
    def post(self, request: Request, transfer_id: int) -> Response:
        return Response(transfer_payload(treasury.execute_transfer(transfer_id=transfer_id,
                                                                   staff=authenticated_user(request))))  # fmt: skip


COLD_ADDRESS_CHANGE_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "id": serializers.IntegerField(),
    "asset": serializers.CharField(),
    "old_address": serializers.CharField(),
    "new_address": serializers.CharField(),
    "status": serializers.CharField(),
    "requested_by": serializers.IntegerField(),
    "requested_at": serializers.DateTimeField(),
    "decided_by": serializers.IntegerField(allow_null=True),
    "decided_at": serializers.DateTimeField(allow_null=True),
}
COLD_ADDRESS_CHANGE_SCHEMA = inline_serializer("ColdWalletAddressChange", COLD_ADDRESS_CHANGE_FIELDS)
COLD_ADDRESS_CHANGE_LIST = type(COLD_ADDRESS_CHANGE_SCHEMA)(many=True)


def address_change_payload(change: ColdWalletAddressChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "asset": change.asset.code,
        "old_address": change.old_address,
        "new_address": change.new_address,
        "status": change.status,
        "requested_by": change.requested_by_id,
        "requested_at": change.requested_at,
        "decided_by": change.decided_by_id,
        "decided_at": change.decided_at,
    }


class ColdWalletChangesApi(APIView):
    """Cold-wallet address changes: asked for by one treasury member, applied when another approves."""

    required_scopes = NO_API_KEYS
    permission_classes = TREASURY_STAFF

    class InputSerializer(serializers.Serializer[Any]):
        asset = serializers.CharField(max_length=16)
        address = serializers.CharField(max_length=128)

        class Meta:
            ref_name = "ColdWalletAddressChangeInput"

    @extend_schema(responses={200: paginated("ColdWalletAddressChangePage", COLD_ADDRESS_CHANGE_LIST)})
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        queryset = ColdWalletAddressChange.objects.select_related("asset").order_by("-requested_at", "-pk")
        page = paginator.paginate_queryset(queryset, request, self) or []
        return paginator.get_paginated_response([address_change_payload(change) for change in page])

    @extend_schema(request=InputSerializer, responses={201: COLD_ADDRESS_CHANGE_SCHEMA})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = treasury.request_cold_address_change(
            asset=services.asset_by_code(data.validated_data["asset"]),
            address=data.validated_data["address"],
            staff=authenticated_user(request),
        )
        return Response(address_change_payload(change), status=status.HTTP_201_CREATED)


class ColdWalletChangeApproveApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = TREASURY_STAFF

    @extend_schema(request=None, responses={200: COLD_ADDRESS_CHANGE_SCHEMA})
    def post(self, request: Request, change_id: int) -> Response:
        change = treasury.approve_cold_address_change(change_id=change_id, staff=authenticated_user(request))
        return Response(address_change_payload(change))


class ColdWalletChangeRejectApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = TREASURY_STAFF

    @extend_schema(request=None, responses={200: COLD_ADDRESS_CHANGE_SCHEMA})
    def post(self, request: Request, change_id: int) -> Response:
        change = treasury.reject_cold_address_change(change_id=change_id, staff=authenticated_user(request))
        return Response(address_change_payload(change))
