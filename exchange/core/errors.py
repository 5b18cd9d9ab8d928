"""One error hierarchy and one mapping to the API's error shape.

Every API error is `{"error": {"code": "...", "message": "...", "details": {...}}}` with the right
status. Services raise `DomainError` subclasses with a stable `code`; DRF's own exceptions are mapped
here too, so the shape is the same everywhere, including Django's 404 and 500 under /api/.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework_simplejwt.exceptions import InvalidToken


class DomainError(Exception):
    """A business rule said no. Subclasses fix the code and the HTTP status."""

    code: ClassVar[str] = "error"
    status_code: ClassVar[int] = status.HTTP_400_BAD_REQUEST
    default_message: ClassVar[str] = "The request could not be carried out."

    def __init__(
        self, message: str | None = None, *, details: dict[str, Any] | None = None, retry_after: int | None = None
    ) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        self.retry_after = retry_after  # seconds; sent as Retry-After (with 429 and 503)
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = "validation_error"
    default_message = "The request is not valid."


class AuthenticationRequired(DomainError):
    code = "not_authenticated"
    status_code = status.HTTP_401_UNAUTHORIZED
    default_message = "Authentication credentials were not provided."


class Forbidden(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_message = "You do not have permission to do this."


class NotFound(DomainError, Http404):
    """Also an Http404, so that a page view raising it answers with the 404 page."""

    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    default_message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The request conflicts with the current state."


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _drf_code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def _message(detail: Any) -> str:
    """Return the first human-readable message in a DRF error detail."""
    if isinstance(detail, list) and detail:
        return _message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        inner = _message(value)
        return inner if key in {"non_field_errors", "detail"} else f"{key}: {inner}"
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map any exception raised by an API view to the contract's error shape."""
    if isinstance(exc, DomainError):
        details = {**exc.details, "retry_after": exc.retry_after} if exc.retry_after else exc.details
        domain_response = Response(error_body(exc.code, exc.message, details), status=exc.status_code)
        if exc.retry_after:
            domain_response["Retry-After"] = str(exc.retry_after)
        return domain_response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # unexpected: Django's 500 handler answers, logged

    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", _message(exc.detail), exc.detail)
    elif isinstance(exc, InvalidToken):
        body = error_body("token_not_valid", "The token is invalid or expired.")
    else:
        body = error_body(_drf_code(exc), _message(exc.detail))
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        body["error"]["details"] = {"retry_after": int(wait)}
    response.data = body
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)
