from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from apikeys.api import views

app_name = "api-keys"

urlpatterns: list[URLPattern | URLResolver] = [
    path("api-keys", views.ApiKeysApi.as_view(), name="list"),
    path("api-keys/<int:key_id>", views.ApiKeyDetailApi.as_view(), name="detail"),
    path("api-keys/<int:key_id>/usage", views.ApiKeyUsageApi.as_view(), name="usage"),
]
