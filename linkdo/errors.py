"""One error vocabulary for services and one DRF exception handler that renders it as JSON."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

DATABASE_UNAVAILABLE = "The database is unavailable right now; try again in a moment."


class ApplicationError(Exception):
    """A service refused a request for a reason the client can act on."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT


class TooLargeError(ApplicationError):
    """More work in one request than the limits allow (LINKDO_SYNC_MAX_ITEMS and friends): 413."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def database_unavailable_response() -> JsonResponse:
    return JsonResponse({"detail": DATABASE_UNAVAILABLE}, status=503, headers={"Retry-After": "5"})


def errors_text(errors) -> str:
    """DRF validation errors as one sentence naming each field: "limit: Ensure this value ..."."""
    if isinstance(errors, dict):
        return "; ".join(f"{name}: {errors_text(value)}" for name, value in errors.items())
    if isinstance(errors, list):
        return " ".join(errors_text(value) for value in errors)
    return str(errors)


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, OperationalError | InterfaceError):
        return Response({"detail": DATABASE_UNAVAILABLE}, status=503, headers={"Retry-After": "5"})
    return drf_exception_handler(exc, context)


def not_found(request, exception=None):
    return JsonResponse({"detail": f"No such path: {request.path}"}, status=404)


def server_error(request):
    return JsonResponse({"detail": "Internal server error; it has been logged."}, status=500)
