"""Tasks and their vectors (Embedding), with the limits the API validates against."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Value
from django.db.models.functions import Now
from pgvector.django import HnswIndex, VectorField

from tasks.recurrence import MAX_RECURRENCE_LENGTH
from workspaces.models import (
    SameWorkspaceOneToOneField,
    Workspace,
    WorkspaceQuerySet,
    WorkspaceRow,
)

MAX_ID_LENGTH = 128
MAX_TITLE_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 20_000
MAX_CATEGORY_LENGTH = 100
MAX_TAGS = 50
MAX_TAG_LENGTH = 50
# Coordinates beyond this are a client bug; the bound also keeps NaN and infinities out of the table.
MAX_COORDINATE = 1e9


class Priority(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(models.TextChoices):
    TODO = "todo"
    IN_PROGRESS = "in-progress"
    DONE = "done"


# Fields stored apart that are one value to a client: merged and versioned together, or a merge
# could take the date from one device and the "has a time" flag from another.
LINKED_FIELDS = (frozenset({"due_date", "due_date_has_time", "due_timezone"}),)


def linked_fields(names) -> set[str]:
    """The fields that change together with any of `names` (for field versions and merges)."""
    names = set(names)
    return {field for group in LINKED_FIELDS if group & names for field in group}


class Task(WorkspaceRow):
    Priority = Priority
    Status = Status

    # No index of its own: both unique constraints below start with the workspace.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    client_id = models.CharField(max_length=MAX_ID_LENGTH)
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    description = models.TextField(blank=True, default="")
    priority = models.CharField(max_length=16, choices=Priority, default=Priority.MEDIUM)
    status = models.CharField(max_length=16, choices=Status, default=Status.TODO)
    category = models.CharField(max_length=MAX_CATEGORY_LENGTH, default="general")
    tags = ArrayField(models.CharField(max_length=MAX_TAG_LENGTH), default=list, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    # The PWA sends plain dates (YYYY-MM-DD); remember that, so they go back out as plain dates.
    due_date_has_time = models.BooleanField(default=False)
    # The IANA zone a due time is read in (what "15:00" meant): a recurring task's next occurrence
    # falls at the same wall-clock time there, its weekdays are that zone's. NULL: UTC.
    due_timezone = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL is "none given"
    # An RFC 5545 RRULE (tasks.recurrence): completing the task creates its next occurrence.
    recurrence = models.CharField(max_length=MAX_RECURRENCE_LENGTH, null=True, blank=True)  # noqa: DJ001 - NULL is "does not recur"
    # sha256 of (model, text) the stored vector (task.embedding, an Embedding row) was computed
    # from; NULL while the embedding is pending (the provider failed or timed out), which
    # `manage.py reembed --pending` fills in.
    embedding_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL is "pending"
    # Why the provider refused this text (HTTP 400): with embedding_hash set to the refused text's
    # hash the task is "failed" and not asked again until its text changes (a writer then clears
    # the hash: pending again) or `manage.py reembed --failed`.
    embedding_error = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001
    x = models.FloatField(default=0.0)
    y = models.FloatField(default=0.0)
    cluster = models.SmallIntegerField(null=True, blank=True)  # from the last auto-arrange
    # True while a task that arrived without coordinates (or whose text changed) waits for its
    # embedding to be projected onto the map (see graph.map.embed_pending); a position set by a client
    # or an auto-arrange clears it.
    place_pending = models.BooleanField(db_default=False)
    # Sync: the workspace change version of the last change, the version at which each field last
    # changed (to merge edits made against an older version), and the deletion mark (tombstone).
    version = models.BigIntegerField(db_default=0)
    field_versions = models.JSONField(db_default=Value({}, output_field=models.JSONField()))
    deleted_at = models.DateTimeField(null=True, blank=True)
    # When the task was done: set as its status becomes `done`, cleared when it leaves it (the
    # statistics count completions per day from it).
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        # The primary key in the database is (workspace_id, id) (migration 0015): every key of a
        # tenant's table starts with its workspace, as Citus needs to keep a workspace's rows on
        # one node; the edges' and embeddings' composite foreign keys point at it. Django keeps
        # `id` as the model's key (5.2 cannot point a ForeignKey at a composite key); `task_id`
        # serves the statements that look a task up by id alone.
        indexes = [
            models.Index(fields=["id"], name="task_id"),
            GinIndex(fields=["tags"], name="task_tags_gin"),
            models.Index(fields=["workspace", "version", "id"], name="task_changes"),
            models.Index(
                fields=["workspace"],
                condition=models.Q(embedding_hash__isnull=True),
                name="task_embedding_pending",
            ),
            # The statistics' windows: tasks created and completed in the last days, open tasks
            # past their due date (GET /api/stats reads only those rows).
            models.Index(
                fields=["workspace", "created_at"],
                condition=models.Q(deleted_at__isnull=True),
                name="task_created_live",
            ),
            models.Index(
                fields=["workspace", "completed_at"],
                condition=models.Q(deleted_at__isnull=True, completed_at__isnull=False),
                name="task_completed_live",
            ),
            models.Index(
                fields=["workspace", "due_date"],
                condition=models.Q(deleted_at__isnull=True, due_date__isnull=False)
                & ~models.Q(status="done"),
                name="task_open_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "client_id"], name="task_client_id_unique_per_workspace"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=Priority.values), name="task_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="task_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status=Status.DONE, completed_at__isnull=False)
                | (~models.Q(status=Status.DONE) & models.Q(completed_at__isnull=True)),
                name="task_completed_at_iff_done",
            ),
            models.CheckConstraint(
                condition=~models.Q(title__regex=r"^\s*$"), name="task_title_not_blank"
            ),
            models.CheckConstraint(
                condition=~models.Q(client_id__regex=r"^\s*$|/"), name="task_client_id_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(x__gte=-MAX_COORDINATE, x__lte=MAX_COORDINATE)
                & models.Q(y__gte=-MAX_COORDINATE, y__lte=MAX_COORDINATE),
                name="task_coordinates_finite",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.title}"


class TaskCount(models.Model):
    """How many live tasks of a workspace carry a category or a tag, and how many of those are
    done. Kept by triggers on tasks_task (migration 0011), so every write path (REST, sync's bulk
    SQL, import, purge) keeps it right, and the statistics read a few rows, not every task."""

    class Kind(models.TextChoices):
        CATEGORY = "category"
        TAG = "tag"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind)
    key = models.CharField(max_length=MAX_CATEGORY_LENGTH)
    total = models.IntegerField()
    done = models.IntegerField()

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind", "key"], name="task_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.done}/{self.total}"


class Embedding(WorkspaceRow):
    """A task's vector, in a table of its own.

    Tasks are updated often (status, position, sync); had the vector and its HNSW index lived in the
    task row, every such update would re-insert the unchanged vector into the HNSW graph (about 1 ms
    a row: 11 s to store one auto-arrange of 10,000 tasks). Here only a real re-embed touches it.
    """

    # Held in the database by the composite foreign key (workspace_id, task_id) -> tasks_task
    # (embedding_task_same_workspace), which also proves the workspace exists; single-column keys
    # would check the same rows again at every commit.
    task = SameWorkspaceOneToOneField(
        Task,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="embedding",
        db_constraint=False,
    )
    # Copied from the task so that a nearest-neighbour scan filters by workspace without a join.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    vector = VectorField(dimensions=settings.LINKDO_EMBEDDING_DIM)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        # Primary key (workspace_id, task_id) in the database (migration 0015); embedding_task
        # serves the joins on task_id alone.
        indexes = [
            models.Index(fields=["task"], name="embedding_task"),
            # Nearest neighbours in big workspaces; small ones are scanned exactly through the
            # workspace index (the planner chooses). See docs/PERFORMANCE.md for the measurement.
            # ef_construction 128, not pgvector's 64: at 64 about one neighbour in 1,000 was
            # unreachable in the graph (no ef_search found it), at 128 none of 11,000 in four builds.
            HnswIndex(
                fields=["vector"],
                name="embedding_vector_hnsw",
                m=16,
                ef_construction=128,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"embedding of task {self.task_id}"
