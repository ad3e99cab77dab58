"""/health: the process answers and the database is reachable."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def health(request):
    """Liveness and readiness: 200 with the database's versions, 503 when it cannot be reached."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('server_version'), "
                "(SELECT extversion FROM pg_extension WHERE extname = 'vector')"
            )
            server_version, pgvector_version = cursor.fetchone()
    except DatabaseError:
        body = {"status": "error", "database": {"status": "unavailable"}}
        return JsonResponse(body, status=503)
    database = {"status": "ok", "postgresql": server_version, "pgvector": pgvector_version}
    return JsonResponse({"status": "ok", "database": database})
