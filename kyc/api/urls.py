from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from kyc.api import views

kyc_urlpatterns: list[URLPattern | URLResolver] = [
    path("verification", views.KycStatusApi.as_view(), name="verification"),
    path("submit", views.KycSubmitApi.as_view(), name="submit"),
    path("documents", views.KycDocumentsApi.as_view(), name="documents"),
    path("documents/<int:document_id>/file", views.KycDocumentFileApi.as_view(), name="document-file"),
    path("admin/pending", views.KycPendingListApi.as_view(), name="admin-pending"),
    path("admin/<int:verification_id>/approve", views.KycApproveApi.as_view(), name="admin-approve"),
    path("admin/<int:verification_id>/reject", views.KycRejectApi.as_view(), name="admin-reject"),
]
