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


# What a JSON client is told when something below the views answered in HTML for it.
_JSON_DETAILS = {
    400: "Bad request: the Host header names no host this server answers to, or the request is "
    "malformed.",
    403: "Forbidden.",
    404: "No such path: {path}",
    405: "Method not allowed on {path}.",
    500: "Internal server error; it has been logged.",
}


class JsonApiErrorsMiddleware:
    """Every answer under /api/ is JSON, in every mode: Django's own pages (the debug 404 of an
    unknown path under DJANGO_DEBUG, the 400 of a disallowed Host header, a debug 500) become
    `{"detail": ...}` with the same status. Outermost but for the metrics and the request log, so
    that it also sees what the host check answers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and response.get("Content-Type", "").startswith("text/html")
        ):
            status = response.status_code
            template = _JSON_DETAILS.get(status, "The request failed (HTTP {status}).")
            json_response = JsonResponse(
                {"detail": template.format(path=request.path, status=status)}, status=status
            )
            for header in ("Retry-After", "Allow", "X-Request-ID"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response


class HealthCheckMiddleware:
    """Serve /health before the host check and the HTTPS redirect: probes call it by pod address
    over plain HTTP, and it shows no data."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in ("/health", "/health/"):
            return health(request)
        return self.get_response(request)
