"""URLs: pages, the REST API under /api/ (no trailing slashes), the admin and /healthz."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from exchange.core import errors
from exchange.core.scopes import Scope
from exchange.health import healthz
from exchange.views import home_view


class SchemaApi(SpectacularAPIView):
    """The OpenAPI schema, which an API key with the `read` scope may fetch like any other read."""

    required_scopes = {"GET": Scope.READ}


class DocsApi(SpectacularSwaggerSplitView):
    """The Swagger UI over the schema: a read, like the schema."""

    required_scopes = {"GET": Scope.READ}


api_urlpatterns: list[URLPattern | URLResolver] = [
    # One line per app: each app's api/urls.py mounts its own endpoint families and their namespaces.
    path("", include("accounts.api.urls")),
    path("", include("kyc.api.urls")),
    path("", include("wallets.api.urls")),
    path("", include("trading.api.urls")),
    path("", include("apikeys.api.urls")),
    path("schema", SchemaApi.as_view(), name="schema"),
    path("docs", DocsApi.as_view(url_name="api:schema"), name="docs"),  # no inline script
]

urlpatterns = [
    path("", home_view, name="home"),
    path("", include("accounts.urls")),
    path("", include("kyc.urls")),
    path("", include("wallets.urls")),
    path("", include("apikeys.urls")),
    path("", include("trading.urls")),
    path("api/", include((api_urlpatterns, "api"))),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return errors.json_not_found(request, exception)
    return render(request, "404.html", status=404)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return errors.json_server_error(request)
    return render(request, "500.html", status=500)
