"""/healthz, the API's error shape for unknown routes and methods, and the API docs."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from trading.worker import ENGINE_HEARTBEAT_KEY

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_engine_down_without_a_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
        "engine": "down",
    }


def test_healthz_is_ok_with_a_live_engine(client):
    cache.set(ENGINE_HEARTBEAT_KEY, {"pid": 1}, timeout=15)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "broker": "ok", "engine": "ok"}


def test_healthz_reports_redis_down(client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    from django.core.cache import caches

    caches._settings = None
    try:
        response = client.get("/healthz")
    finally:
        caches._settings = None
    assert response.status_code == 503
    assert response.json()["redis"] == "error"
    assert response.json()["engine"] == "down"


def test_healthz_reports_a_broker_this_process_cannot_reach(client, monkeypatch, caplog):
    # Given a live engine, but a broker URL nothing listens on
    from exchange.core.celery import app

    cache.set(ENGINE_HEARTBEAT_KEY, {"pid": 1}, timeout=15)
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    # When /healthz is asked
    response = client.get("/healthz")
    # Then it is degraded, says why, and logs the error
    assert response.status_code == 503
    assert response.json()["broker"] == "error"
    assert "broker check failed" in caplog.text


def test_unknown_api_route_answers_in_the_error_shape(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "details": {}}}


def test_unknown_page_answers_with_a_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_wrong_method_answers_in_the_error_shape(client):
    response = client.get("/api/auth/register")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema")
    assert schema.status_code == 200
    body = schema.content.decode()
    for path in ("/api/auth/register", "/api/auth/login", "/api/security/2fa/setup"):
        assert path in body
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    # The UI comes from our own static files, not a CDN.
    assert "/static/drf_spectacular_sidecar/" in docs.content.decode()
    assert "cdn" not in docs.content.decode().lower()


def test_every_api_view_is_in_the_openapi_schema_without_warnings(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in ("/api/wallet/withdraw", "/api/kyc/admin/pending", "/api/admin/cold-transfers", "/api/auth/kyc"):
        assert f"{path}:" in schema
