"""Resolves the X-Workspace-ID header (validated, UTF-8) and attaches it to the request."""

from django.http import JsonResponse

from workspaces.services import workspace_id_problem

API_PREFIX = "/api/"
# The schema and its docs describe the API; they hold no workspace data.
UNSCOPED_PREFIXES = ("/api/schema", "/api/docs")


class WorkspaceMiddleware:
    """Check X-Workspace-ID on /api/ paths and attach `request.workspace_id`; nothing else.

    The workspace row is made (or its last_seen_at refreshed) by the API view once the request has
    passed its throttles (workspaces.api.WorkspaceViewSet), so a throttled request writes nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.workspace_id = None
        if request.path.startswith(API_PREFIX) and not request.path.startswith(UNSCOPED_PREFIXES):
            if request.method == "OPTIONS":
                return self.get_response(request)
            raw = header_text(request.META.get("HTTP_X_WORKSPACE_ID"))
            problem = workspace_id_problem(raw)
            if problem:
                return JsonResponse({"detail": problem}, status=400)
            request.workspace_id = raw
        return self.get_response(request)


def header_text(value: str | None) -> str | None:
    """A header as the client wrote it: WSGI hands over its bytes decoded as latin-1; they are
    UTF-8 (a Hangul id came back garbled). Bytes that are not UTF-8 give a value that
    workspace_id_problem refuses."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return "\ufffd"  # refused below: not a usable id
