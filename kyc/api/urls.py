from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from kyc.api import views

app_name = "kyc"

urlpatterns: list[URLPattern | URLResolver] = [
    # The contract puts the details under /api/auth/, beside the account's endpoints; the view is kyc's.
    path("auth/kyc", views.KycDetailsSubmitApi.as_view(), name="details"),
    path("kyc/verification", views.KycStatusApi.as_view(), name="verification"),
    path("kyc/submit", views.KycSubmitApi.as_view(), name="submit"),
    path("kyc/documents", views.KycDocumentsApi.as_view(), name="documents"),
    path("kyc/documents/<int:document_id>/file", views.KycDocumentFileApi.as_view(), name="document-file"),
    path("kyc/admin/pending", views.KycPendingListApi.as_view(), name="admin-pending"),
    path("kyc/admin/<int:verification_id>/approve", views.KycApproveApi.as_view(), name="admin-approve"),
    path("kyc/admin/<int:verification_id>/reject", views.KycRejectApi.as_view(), name="admin-reject"),
]
