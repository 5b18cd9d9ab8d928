from __future__ import annotations

from django.urls import path

from kyc import views

app_name = "kyc"

urlpatterns = [
    path("kyc", views.status_view, name="status"),
    path("kyc/details", views.details_view, name="details"),
    path("kyc/documents", views.document_upload_view, name="upload"),
    path("kyc/submit", views.submit_view, name="submit"),
    path("kyc/documents/<int:document_id>", views.document_file_view, name="document"),
]
