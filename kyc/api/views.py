"""KYC API: details (POST /api/auth/kyc), documents, submission, and the compliance queue."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import StaffSecondFactor, second_factor_verified
from accounts.selectors import authenticated_user
from exchange.core.pagination import Pagination, paginated
from exchange.core.scopes import NO_API_KEYS
from kyc import selectors, services
from kyc.files import document_file_response
from kyc.models import Document, DocumentType, Verification


class IsComplianceStaff(BasePermission):
    message = "Only compliance staff can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_staff and user.has_perm("kyc.review_verification"))


# Compliance, signed in with a second factor (checked after the role: others learn nothing of it).
COMPLIANCE_STAFF = [IsAuthenticated, IsComplianceStaff, StaffSecondFactor]


class DocumentOutputSerializer(serializers.ModelSerializer[Document]):
    verification_id = serializers.IntegerField()
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "verification_id", "document_type", "content_type", "size", "width", "height", "uploaded_at",
                  "file_url"]  # fmt: skip
        ref_name = "KycDocument"

    def get_file_url(self, document: Document) -> str:
        return f"/api/kyc/documents/{document.pk}/file"


class VerificationOutputSerializer(serializers.ModelSerializer[Verification]):
    country = serializers.CharField()
    documents = DocumentOutputSerializer(many=True, read_only=True)
    missing = serializers.SerializerMethodField()

    class Meta:
        model = Verification
        fields = ["id", "level", "status", "full_name", "date_of_birth", "country", "address", "created_at",
                  "submitted_at", "decided_at", "rejection_reason", "documents", "missing"]  # fmt: skip
        ref_name = "KycVerification"

    def get_missing(self, verification: Verification) -> list[str]:
        return selectors.missing_documents(verification) if verification.status == "draft" else []


class KycDetailsSubmitApi(APIView):
    """Enter identity details: starts (or edits) the draft verification for the next level."""

    required_scopes = NO_API_KEYS

    class InputSerializer(serializers.Serializer[Any]):
        full_name = serializers.CharField(max_length=200)
        date_of_birth = serializers.DateField()
        country = serializers.CharField(max_length=2, min_length=2)
        address = serializers.CharField(max_length=500)

        class Meta:
            ref_name = "KycDetailsInput"

    @extend_schema(request=InputSerializer, responses={201: VerificationOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification = services.submit_details(user=authenticated_user(request), **data.validated_data)
        return Response(VerificationOutputSerializer(verification).data, status=status.HTTP_201_CREATED)


class KycStatusApi(APIView):
    """The user's level, status, and the verification in progress (or the last one)."""

    required_scopes = NO_API_KEYS

    @extend_schema(
        responses={
            200: inline_serializer(
                "KycStatus",
                {
                    "kyc_level": serializers.IntegerField(),
                    "kyc_status": serializers.CharField(),
                    "verification": VerificationOutputSerializer(allow_null=True),
                },
            )
        }
    )
    def get(self, request: Request) -> Response:
        user = authenticated_user(request)
        verification = selectors.latest_verification(user=user)
        return Response(
            {
                "kyc_level": user.kyc_level,
                "kyc_status": user.kyc_status,
                "verification": VerificationOutputSerializer(verification).data if verification else None,
            }
        )


class KycSubmitApi(APIView):
    """Send the draft (details and documents) to compliance."""

    required_scopes = NO_API_KEYS

    @extend_schema(request=None, responses={200: VerificationOutputSerializer})
    def post(self, request: Request) -> Response:
        verification = services.submit_verification(user=authenticated_user(request))
        return Response(VerificationOutputSerializer(verification).data)


class KycDocumentsApi(APIView):
    required_scopes = NO_API_KEYS
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer[Any]):
        document_type = serializers.ChoiceField(choices=DocumentType.choices)
        file = serializers.FileField(allow_empty_file=True, use_url=False)

        class Meta:
            ref_name = "KycDocumentInput"

    @extend_schema(responses={200: paginated("KycDocumentPage", DocumentOutputSerializer(many=True))})
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.documents_of_user(user=authenticated_user(request)), request, self)
        return paginator.get_paginated_response(DocumentOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: DocumentOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.upload_document(
            user=authenticated_user(request),
            document_type=data.validated_data["document_type"],
            upload=data.validated_data["file"],
        )
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_201_CREATED)


class KycDocumentFileApi(APIView):
    """The document's file: for its owner and compliance staff (with a second factor); 404 for anyone else."""

    required_scopes = NO_API_KEYS

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, document_id: int) -> FileResponse:
        document = selectors.access_document_by_id(
            user=authenticated_user(request), document_id=document_id, second_factor=second_factor_verified(request)
        )
        return document_file_response(document)


class StaffVerificationSerializer(VerificationOutputSerializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")

    class Meta(VerificationOutputSerializer.Meta):
        fields = [*VerificationOutputSerializer.Meta.fields, "user_id", "username"]
        ref_name = "KycStaffVerification"


class KycPendingListApi(APIView):
    """Compliance: the review queue, oldest submission first."""

    required_scopes = NO_API_KEYS
    permission_classes = COMPLIANCE_STAFF

    @extend_schema(responses={200: paginated("StaffVerificationPage", StaffVerificationSerializer(many=True))})
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.pending_verifications(), request, self)
        return paginator.get_paginated_response(StaffVerificationSerializer(page, many=True).data)


class KycApproveApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = COMPLIANCE_STAFF

    @extend_schema(request=None, responses={200: StaffVerificationSerializer})
    def post(self, request: Request, verification_id: int) -> Response:
        verification = services.approve_verification(
            verification_id=verification_id, staff=authenticated_user(request), channel="api"
        )
        return Response(StaffVerificationSerializer(verification).data)


class KycRejectApi(APIView):
    required_scopes = NO_API_KEYS
    permission_classes = COMPLIANCE_STAFF

    class InputSerializer(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=2000)

        class Meta:
            ref_name = "KycRejectInput"

    @extend_schema(request=InputSerializer, responses={200: StaffVerificationSerializer})
    def post(self, request: Request, verification_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification = services.reject_verification(
            verification_id=verification_id,
            staff=authenticated_user(request),
            reason=data.validated_data["reason"],
            channel="api",
        )
        return Response(StaffVerificationSerializer(verification).data)
