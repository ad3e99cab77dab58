"""The tenant's model and the QuerySet every workspace-owned model uses."""

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Now
from pgvector.django import VectorField


class WorkspaceQuerySet(models.QuerySet):
    """The one way rows of a workspace's data are read: every selector and service starts here."""

    def of(self, workspace) -> "WorkspaceQuerySet":
        """The workspace's rows, tombstones of deleted ones included (sync, import, purge)."""
        return self.filter(workspace=workspace)

    def live(self, workspace) -> "WorkspaceQuerySet":
        """The workspace's live rows: what every API answer and every new write sees."""
        return self.filter(workspace=workspace, deleted_at__isnull=True)


class WorkspaceRow(models.Model):
    """A model whose rows belong to one workspace (a `workspace` foreign key): saving a row
    updates it by (workspace, id), not by id alone. The same row; on Citus, where these tables are
    distributed by workspace_id, the UPDATE runs on the node holding the workspace instead of on
    every shard (docs/SCALING.md)."""

    class Meta:
        abstract = True

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        base_qs = base_qs.filter(workspace_id=self.workspace_id)
        return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)


class SameWorkspaceJoin:
    """A relation between two rows of one workspace that joins on `workspace_id` too.

    Mixed into the ForeignKey / OneToOneField of a workspace-owned model that points at another
    workspace-owned model (an edge's ends, an embedding's task). Every join the ORM writes through it
    (filters, select_related, values across the relation, both directions) reads
    `ON b.id = a.ref_id AND b.workspace_id = a.workspace_id`, and fetching `edge.source` filters by
    the edge's workspace too. On plain PostgreSQL that is the same rows (both ends are in the row's
    workspace: the composite foreign keys in the database guarantee it); on Citus, where the tables
    are distributed by workspace_id, it is what lets a statement run on the one node holding the
    workspace instead of failing as a repartition join (docs/SCALING.md)."""

    def get_joining_fields(self, reverse_join=False):
        local = self.model._meta.get_field("workspace")
        remote = self.remote_field.model._meta.get_field("workspace")
        same_workspace = (remote, local) if reverse_join else (local, remote)
        return (*super().get_joining_fields(reverse_join), same_workspace)

    def get_extra_descriptor_filter(self, instance):
        return {"workspace_id": instance.workspace_id}


class SameWorkspaceForeignKey(SameWorkspaceJoin, models.ForeignKey):
    """A ForeignKey to another row of the same workspace (see SameWorkspaceJoin)."""


class SameWorkspaceOneToOneField(SameWorkspaceJoin, models.OneToOneField):
    """A OneToOneField to another row of the same workspace (see SameWorkspaceJoin)."""


class Workspace(models.Model):
    """One browser's data space, named by the X-Workspace-ID header and created on first use.

    The tenant: domain rows (tasks, edges, embeddings) carry its id and are read through
    WorkspaceQuerySet."""

    id = models.CharField(primary_key=True, max_length=128)
    created_at = models.DateTimeField(db_default=Now())
    last_seen_at = models.DateTimeField(db_default=Now())
    # The map's basis from the last auto-arrange (see graph/layout.py): coords =
    # (embedding - layout_mean) @ [layout_wx, layout_wy] + [layout_bx, layout_by].
    # New tasks are placed with it, and the next arrange is aligned to it.
    layout_mean = VectorField(dimensions=settings.LINKDO_EMBEDDING_DIM, null=True, blank=True)
    layout_wx = VectorField(dimensions=settings.LINKDO_EMBEDDING_DIM, null=True, blank=True)
    layout_wy = VectorField(dimensions=settings.LINKDO_EMBEDDING_DIM, null=True, blank=True)
    layout_bx = models.FloatField(db_default=0.0)
    layout_by = models.FloatField(db_default=0.0)
    layout_clusters = models.JSONField(
        db_default=Value([], output_field=models.JSONField()), blank=True
    )
    arranged_at = models.DateTimeField(null=True, blank=True)
    # Offline sync (flows/sync/): every change to a task or edge takes the next change version of
    # its workspace; tombstones at or below purged_version are gone (manage.py purge_tombstones).
    change_version = models.BigIntegerField(db_default=0)
    purged_version = models.BigIntegerField(db_default=0)
    # The owner's secret (workspaces.secrets), as its SHA-256: NULL while the workspace is
    # unclaimed. Never exported, never shown.
    secret_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    secret_set_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.id


class IdempotentRequest(models.Model):
    """The answer to a request sent with an Idempotency-Key, kept IDEMPOTENCY_HOURS for its
    retries (workspaces.idempotency). `status` is NULL while the first request is being served."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of the method, path and body
    status = models.SmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_key_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.key}"
