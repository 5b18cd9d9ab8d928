from __future__ import annotations

from django.urls import path

from apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("api-keys", views.keys_view, name="keys"),
    path("api-keys/<int:key_id>/revoke", views.revoke_view, name="revoke"),
]
