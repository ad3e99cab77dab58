"""State every web process and replica shares, kept in PostgreSQL (issue 19): Django's database
cache (tag suggestions and parsed text) and the request counters of the rate limits
(linkdo.throttling). Both are UNLOGGED: no WAL, so a write costs little and commits without a flush;
after a crash PostgreSQL empties them, which loses only cached answers and one window's counts."""

from django.db import migrations

CREATE = """
CREATE UNLOGGED TABLE linkdo_cache (
    cache_key varchar(255) NOT NULL PRIMARY KEY,
    value text NOT NULL,
    expires timestamp with time zone NOT NULL
);
CREATE INDEX linkdo_cache_expires ON linkdo_cache (expires);
CREATE UNLOGGED TABLE linkdo_rate (
    key text NOT NULL PRIMARY KEY,
    window_start bigint NOT NULL,
    hits integer NOT NULL
);
"""

DROP = "DROP TABLE linkdo_rate; DROP TABLE linkdo_cache;"


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0004_utf8_workspace_ids")]

    operations = [migrations.RunSQL(CREATE, DROP)]
