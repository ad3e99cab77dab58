from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from linkdo.errors import database_unavailable_response
from workspaces.services import workspace_id_problem, workspace_touch

API_PREFIX = "/api/"
# The schema and its docs describe the API; they hold no workspace data.
UNSCOPED_PREFIXES = ("/api/schema", "/api/docs")


class WorkspaceMiddleware:
    """Resolve X-Workspace-ID on /api/ paths and attach `request.workspace`; nothing else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        if request.path.startswith(API_PREFIX) and not request.path.startswith(UNSCOPED_PREFIXES):
            if request.method == "OPTIONS":
                return self.get_response(request)
            raw = request.headers.get("X-Workspace-ID")
            problem = workspace_id_problem(raw)
            if problem:
                return JsonResponse({"detail": problem}, status=400)
            try:
                request.workspace = workspace_touch(workspace_id=raw)
            except (OperationalError, InterfaceError):
                return database_unavailable_response()
        return self.get_response(request)
