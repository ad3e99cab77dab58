"""Project middleware: bodies over LINKDO_MAX_BODY_BYTES refused before anything reads them, and a
503 with a sentence when a non-API view loses the database."""

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from linkdo.errors import database_unavailable_response
from linkdo.health import health


class BodySizeLimitMiddleware:
    """Refuse bodies over LINKDO_MAX_BODY_BYTES before anything reads them (DRF's parsers do not check)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(
                {"detail": "The Content-Length header is not a number."}, status=400
            )
        limit = settings.LINKDO_MAX_BODY_BYTES
        if length > limit:
            return JsonResponse(
                {"detail": f"The request body is {length} bytes; the limit is {limit} bytes."},
                status=413,
            )
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """Answer 503 instead of a stack trace when a non-API view loses the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            return database_unavailable_response()
        return None


class HealthCheckMiddleware:
    """Serve /health before the host check and the HTTPS redirect: probes call it by pod address
    over plain HTTP, and it shows no data."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in ("/health", "/health/"):
            return health(request)
        return self.get_response(request)
