import os

import psycopg
import pytest
from django.conf import settings

from linkdo import embedded_db


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="an external database is in use")
def test_embedded_server_is_reused_and_has_pgvector():
    first = embedded_db.ensure_running(settings.LINKDO_DATA_DIR)
    second = embedded_db.ensure_running(settings.LINKDO_DATA_DIR)
    assert first == second == settings.DATABASES["default"]["HOST"]
    with psycopg.connect(host=first, user="postgres", dbname="postgres") as conn:
        versions = conn.execute(
            "SELECT current_setting('server_version_num')::int, "
            "(SELECT default_version FROM pg_available_extensions WHERE name = 'vector')"
        ).fetchone()
    assert versions[0] >= 180000
    assert tuple(int(p) for p in versions[1].split(".")[:2]) >= (0, 8)


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="an external database is in use")
def test_database_url_with_a_socket_host_is_used_as_is():
    """A libpq URI with a percent-encoded socket directory reaches that server and starts nothing."""
    from urllib.parse import quote

    from tests.helpers import run_django

    socket_dir = settings.DATABASES["default"]["HOST"]
    name = settings.DATABASES["default"]["NAME"]
    url = f"postgresql://postgres@{quote(socket_dir, safe='')}/{name}"
    result = run_django(
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('SELECT current_database(), inet_server_addr() IS NULL')\n"
        "    print(*c.fetchone())\n"
        "from django.conf import settings\n"
        "print(settings.DATABASES['default']['HOST'])",
        DATABASE_URL=url,
        DJANGO_DEBUG="true",
        LINKDO_DATA_DIR="/nonexistent/never-created",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{name} True", socket_dir]
