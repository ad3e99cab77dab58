"""When a task was done: the statistics count completions per day. Tasks already done get the time
they last changed, the best record there is."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tasks", "0009_embedding_workspace_fk")]

    operations = [
        migrations.AddField(
            model_name="task",
            name="completed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            sql="UPDATE tasks_task SET completed_at = updated_at WHERE status = 'done'",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("completed_at__isnull", False), ("status", "done")),
                    models.Q(
                        models.Q(("status", "done"), _negated=True), ("completed_at__isnull", True)
                    ),
                    _connector="OR",
                ),
                name="task_completed_at_iff_done",
            ),
        ),
    ]
