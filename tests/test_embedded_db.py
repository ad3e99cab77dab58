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
