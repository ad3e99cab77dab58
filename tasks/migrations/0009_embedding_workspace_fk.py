"""An embedding's workspace is its task's: a composite foreign key (like the edges' ends), so a
vector can never be filed under another workspace than its task."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tasks", "0008_hnsw_ef_construction_128")]

    operations = [
        migrations.RunSQL(
            sql=(
                "ALTER TABLE tasks_embedding ADD CONSTRAINT embedding_task_same_workspace "
                "FOREIGN KEY (workspace_id, task_id) REFERENCES tasks_task (workspace_id, id) "
                "ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
            ),
            reverse_sql="ALTER TABLE tasks_embedding DROP CONSTRAINT embedding_task_same_workspace",
        ),
    ]
