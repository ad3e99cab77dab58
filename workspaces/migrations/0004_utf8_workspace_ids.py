"""X-Workspace-ID is now read as UTF-8. Before, WSGI's latin-1 reading was stored as it came, so a
browser whose id had non-ASCII characters kept its data under a garbled id ("브라우저" was stored as
"ë¸\x8cë..."). This renames such workspaces to the id the browser really sends, so it keeps seeing
its data. An id that does not decode, or whose decoded form already exists, is left alone."""

from django.db import migrations

CHILD_TABLES = ("tasks_task", "graph_edge", "tasks_embedding")


def rename_garbled_ids(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM workspaces_workspace WHERE id ~ '[^\\x01-\\x7f]'")
        for (old,) in cursor.fetchall():
            try:
                new = old.encode("latin-1").decode("utf-8")
            except UnicodeError:
                continue  # not a UTF-8 id read as latin-1
            cursor.execute("SELECT 1 FROM workspaces_workspace WHERE id = %s", [new])
            if new == old or cursor.fetchone() is not None:
                continue
            # Every foreign key to the workspace is deferred: checked at this migration's commit.
            cursor.execute("UPDATE workspaces_workspace SET id = %s WHERE id = %s", [new, old])
            for table in CHILD_TABLES:
                cursor.execute(
                    f"UPDATE {table} SET workspace_id = %s WHERE workspace_id = %s", [new, old]
                )


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0003_sync"),
        ("tasks", "0008_hnsw_ef_construction_128"),
        ("graph", "0002_sync"),
    ]

    operations = [migrations.RunPython(rename_garbled_ids, migrations.RunPython.noop)]
