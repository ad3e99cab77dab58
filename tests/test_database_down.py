"""With the database out of reach, the service answers 503 with a sentence, never a stack trace."""

from tests.helpers import run_django

UNREACHABLE = "postgresql://postgres@%2Fnonexistent%2Flinkdo-socket/linkdo"

PROBE = """
from django.test import Client
c = Client(HTTP_HOST="localhost", HTTP_X_WORKSPACE_ID="w")
for path in ["/health", "/api/tasks"]:
    r = c.get(path)
    print(path, r.status_code, r.content.decode())
r = c.post("/api/tasks", {"id": "t", "title": "T"}, content_type="application/json")
print("post", r.status_code, r.content.decode())
"""


def test_unreachable_database_is_503_everywhere():
    result = run_django(PROBE, DATABASE_URL=UNREACHABLE, DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(
        '/health 503 {"status": "error", "database": {"status": "unavailable"}'
    )
    assert lines[1].startswith("/api/tasks 503 ")
    assert "database is unavailable" in lines[1]
    assert lines[2].startswith("post 503 ")
    assert "Traceback" not in result.stdout
