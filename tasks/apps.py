from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self):
        from linkdo.observability import register_database_gauge
        from tasks.models import Task

        register_database_gauge(
            "linkdo_pending_embeddings",
            "Live tasks whose current text has no stored embedding yet.",
            lambda: Task.objects.filter(
                deleted_at__isnull=True, embedding_hash__isnull=True
            ).count(),
        )
        register_database_gauge(
            "linkdo_failed_embeddings",
            "Live tasks whose text the embedding provider refused (not asked again until it "
            "changes, or manage.py reembed --failed).",
            lambda: Task.objects.filter(
                deleted_at__isnull=True, embedding_hash__isnull=False, embedding_error__isnull=False
            ).count(),
        )
