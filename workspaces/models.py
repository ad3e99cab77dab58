from django.db import models
from django.db.models.functions import Now


class Workspace(models.Model):
    """One browser's data space, named by the X-Workspace-ID header and created on first use."""

    id = models.CharField(primary_key=True, max_length=128)
    created_at = models.DateTimeField(db_default=Now())
    last_seen_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return self.id
