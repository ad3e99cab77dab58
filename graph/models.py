"""Edges between two tasks of one workspace, with their origin (auto or manual) and sync marks."""

from django.db import models
from django.db.models.functions import Greatest, Least, Now

from tasks.models import Task
from workspaces.models import SameWorkspaceForeignKey, Workspace, WorkspaceQuerySet, WorkspaceRow

DEFAULT_WEIGHT = 0.5


class Origin(models.TextChoices):
    AUTO = "auto"  # from shared tags; recomputed whenever the tags change
    MANUAL = "manual"  # made by the user; never touched by auto-linking


class Edge(WorkspaceRow):
    """An undirected link between two tasks of one workspace (source/target keep the client's order)."""

    Origin = Origin

    # In the database an edge's ends are held by the composite foreign keys (workspace_id,
    # source_id / target_id) -> tasks_task (workspace_id, id) (edge_source_same_workspace,
    # edge_target_same_workspace), which also prove its workspace exists. The single-column keys
    # Django would add checked the same rows again at every commit: three more checks an edge, half
    # of a push's commit (docs/PERFORMANCE.md, "Decisions the figures led to").
    # No index of its own either: edge_changes (workspace, version, id) starts with it, and the two
    # that Django adds (one for LIKE) were kept up by every edge insert for nothing.
    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.CASCADE,
        related_name="edges",
        db_constraint=False,
        db_index=False,
    )
    source = SameWorkspaceForeignKey(
        Task, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    target = SameWorkspaceForeignKey(
        Task, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    weight = models.FloatField(default=DEFAULT_WEIGHT)
    origin = models.CharField(max_length=8, choices=Origin, default=Origin.MANUAL)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())
    version = models.BigIntegerField(db_default=0)  # workspace change version of the last change
    deleted_at = models.DateTimeField(null=True, blank=True)  # tombstone, for offline sync
    # Bounded auto-links: which end chose this auto edge among its strongest tag-mates. An auto
    # edge lives while at least one end chooses it (see graph.services.edges_link_by_tags).
    chosen_by_source = models.BooleanField(db_default=False)
    chosen_by_target = models.BooleanField(db_default=False)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        # Primary key (workspace_id, id) in the database (tasks migration 0015); edge_id serves
        # the statements that name an edge by id alone.
        indexes = [
            models.Index(fields=["workspace", "version", "id"], name="edge_changes"),
            models.Index(fields=["id"], name="edge_id"),
        ]
        constraints = [
            # One edge per pair of tasks, either direction, in its workspace.
            models.UniqueConstraint(
                models.F("workspace"),
                Least("source", "target"),
                Greatest("source", "target"),
                name="edge_unique_pair",
            ),  # fmt: skip
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="edge_no_self_loop"
            ),
            models.CheckConstraint(
                condition=models.Q(weight__gte=0.0, weight__lte=1.0), name="edge_weight_in_0_1"
            ),
            models.CheckConstraint(
                condition=models.Q(origin__in=Origin.values), name="edge_origin_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} - {self.target_id} ({self.weight})"
