"""The one write path of a task's fields, shared by REST, sync and import: turning API fields into
model fields, applying a change with its versions, inserting and reviving rows. Linking and placing
(graph) are added by the flows (flows.services, flows.sync, flows.transfer)."""

import functools
import json
from datetime import datetime

from django.db import IntegrityError, connection, models
from django.db.models import Value
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone
from psycopg import sql

from linkdo.errors import ConflictError
from tasks.embeddings import task_text
from tasks.models import Embedding, Task, linked_fields


def task_fields_from_api(data: dict) -> dict:
    """Validated API fields -> model fields (`id` is the client id, `due_date` is (value, has_time))."""
    fields = dict(data)
    if "id" in fields:
        fields["client_id"] = fields.pop("id")
    if "due_date" in fields:
        fields["due_date"], fields["due_date_has_time"] = fields["due_date"] or (None, False)
    return fields


def task_changed_fields(task: Task, fields: dict) -> list[str]:
    """The names among `fields` whose value differs from the task's."""
    return [name for name, value in fields.items() if getattr(task, name) != value]


def task_apply(
    task: Task, fields: dict, *, version: int, changed_at: datetime | None = None
) -> set[str]:
    """Apply the `fields` that differ to `task` (in memory) as change `version`, and return the
    columns to write (empty when nothing differs).

    The task takes the version, `changed_at` as updated_at (unless `fields` carries one), and the
    field versions of what changed (linked fields together). A new status sets or clears
    completed_at (at `changed_at`), unless `fields` carries it. A new text marks the embedding pending
    unless `fields` carries its hash; a new text or a move decides `place_pending`: the client's
    place wins over a pending projection, and a new meaning waits for a new place.
    """
    changed = task_changed_fields(task, fields)
    if not changed:
        return set()
    old_text = task_text(task)
    for name in changed:
        setattr(task, name, fields[name])
    columns = {*changed, "version", "field_versions"}
    task.version = version
    task.field_versions = {
        **task.field_versions,
        **dict.fromkeys(set(changed) | linked_fields(changed), version),
    }
    if changed_at is not None and "updated_at" not in fields:
        task.updated_at = changed_at
        columns.add("updated_at")
    if "status" in changed and "completed_at" not in fields:
        done = task.status == Task.Status.DONE
        task.completed_at = (changed_at or timezone.now()) if done else None
        columns.add("completed_at")
    text_changed = task_text(task) != old_text
    if text_changed and "embedding_hash" not in fields:
        task.embedding_hash = None
        columns.add("embedding_hash")
    if text_changed and task.embedding_error is not None:
        task.embedding_error = None  # a refusal was for the old text
        columns.add("embedding_error")
    moved = "x" in changed or "y" in changed
    if moved or text_changed:
        # Only a task whose embedding is pending waits for a projection.
        task.place_pending = not moved and task.embedding_hash is None
        columns.add("place_pending")
    return columns


def task_completed_at(
    status: str, completed_at: datetime | None, *, at: datetime
) -> datetime | None:
    """A new task's completion time: a task created as done was done `at` (when it does not say)."""
    return (completed_at or at) if status == Task.Status.DONE else None


def task_set_completion(task: Task, *, at: datetime) -> None:
    task.completed_at = task_completed_at(task.status, task.completed_at, at=at)


@functools.cache
def _insert_columns() -> tuple:
    """Every column a new task row has but its id and workspace: (name, SQL type, the value a row
    that leaves it out gets (the model's default; None where the caller sets it), is a time)."""
    columns = []
    for field in Task._meta.concrete_fields:
        if field.primary_key or field.name == "workspace":
            continue
        default = field.get_default() if field.has_default() else None
        db_default = field.db_default
        if isinstance(db_default, Value):
            default = db_default.value
        elif db_default is not models.NOT_PROVIDED and not hasattr(db_default, "as_sql"):
            default = db_default  # a plain value (expressions such as Now() are set by the caller)
        is_time = isinstance(field, models.DateTimeField)
        columns.append((field.column, field.db_type(connection), default, is_time))
    return tuple(columns)


@functools.cache
def _insert_sql(given: frozenset) -> sql.Composed:
    """The one task INSERT, for rows that carry the columns `given`: those come from one JSON
    parameter (jsonb_to_recordset), the others are one parameter each (the same for every row, so
    1,000 rows do not repeat them). Ids come back by client id. Django's bulk_create spent 0.4 s
    building the SQL of 1,000 rows."""
    columns = _insert_columns()
    values = [
        sql.SQL("r.{}").format(sql.Identifier(column))
        if column in given
        else sql.SQL("{}::{}").format(sql.Placeholder(column), sql.SQL(db_type))
        for column, db_type, _, _ in columns
    ]
    return sql.SQL(
        "INSERT INTO {table} ({workspace}, {names}) "
        "SELECT %(workspace_id)s, {values} FROM jsonb_to_recordset(%(rows)s::jsonb) AS r({types}) "
        "RETURNING {client_id}, {id}"
    ).format(
        table=sql.Identifier(Task._meta.db_table),
        workspace=sql.Identifier(Task._meta.get_field("workspace").column),
        names=sql.SQL(", ").join(sql.Identifier(column) for column, *_ in columns),
        values=sql.SQL(", ").join(values),
        types=sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(db_type))
            for column, db_type, _, _ in columns
            if column in given
        ),
        client_id=sql.Identifier("client_id"),
        id=sql.Identifier(Task._meta.pk.column),
    )


def tasks_insert(*, workspace_id: int, rows: list[dict], version: int, now: datetime) -> dict:
    """Insert new tasks in one statement, the one way a task row is born (REST create, sync push,
    import, parse create). `rows` hold model fields by column name (`client_id`, `title`, ...);
    what a row leaves out takes the model's default, `version` and `now` (created_at and
    updated_at). Returns the new ids by client id. A live id of the workspace is a 409.

    Plain rows, not model instances: building 1,000 Task objects took a sixth of a push's Python
    time."""
    if not rows:
        return {}
    columns = _insert_columns()
    constants = {column: default for column, _, default, _ in columns}
    constants |= {"version": version, "field_versions": {}, "created_at": now, "updated_at": now}
    given = frozenset().union(*rows)
    times = [column for column, _, _, is_time in columns if is_time and column in given]
    encoded = []
    for row in rows:
        if len(row) != len(given):  # a row without a column the others carry: its default
            row = {**{name: constants[name] for name in given}, **row}
        encoded.append({**row, **{name: row[name] and row[name].isoformat() for name in times}})
    params = {
        name: json.dumps(value) if isinstance(value, dict) else value
        for name, value in constants.items()
        if name not in given
    }
    params |= {"workspace_id": workspace_id, "rows": json.dumps(encoded)}
    try:
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(given), params)
            return dict(cursor.fetchall())
    except IntegrityError as exc:
        if "task_client_id_unique_per_workspace" in str(exc):
            raise ConflictError(
                "A task with one of these ids already exists in this workspace."
            ) from None
        raise


def task_insert(task: Task) -> None:
    """Insert one new task (model instance) through tasks_insert and set its primary key."""
    row = {
        field.column: getattr(task, field.attname)
        for field in Task._meta.concrete_fields
        if not field.primary_key
        and field.name != "workspace"
        and not isinstance(getattr(task, field.attname), DatabaseDefault)
    }
    now = task.created_at if not isinstance(task.created_at, DatabaseDefault) else timezone.now()
    try:
        ids = tasks_insert(
            workspace_id=task.workspace_id, rows=[row], version=task.version, now=now
        )
    except ConflictError:
        raise ConflictError(
            f"A task with id {task.client_id!r} already exists in this workspace."
        ) from None
    task.pk = ids[task.client_id]


# Every field a create sets; a revived tombstone takes them all, so nothing of the deleted task
# survives but its row.
_REVIVED_FIELDS = (
    "title", "description", "priority", "status", "category", "tags", "due_date",
    "due_date_has_time", "due_timezone", "recurrence", "embedding_hash", "x", "y", "cluster",
    "place_pending", "version", "field_versions", "deleted_at", "completed_at", "created_at",
    "updated_at",
)  # fmt: skip
# The ones that take the change's field version.
_REVIVED_CLIENT_FIELDS = _REVIVED_FIELDS[: _REVIVED_FIELDS.index("version")]


def task_revive(task: Task, *, pk: int, has_vector: bool) -> None:
    """Store a new task over the tombstone row `pk` of the same id (a deleted id created again)."""
    task.pk = pk
    task.cluster = None
    task.deleted_at = None
    task.field_versions = dict.fromkeys(_REVIVED_CLIENT_FIELDS, task.version)
    task.embedding_error = None  # a refusal was for the deleted task's text
    task.save(update_fields=(*_REVIVED_FIELDS, "embedding_error"))
    if not has_vector:  # the deleted text's vector must not stand for the new one
        Embedding.objects.of(task.workspace_id).filter(task_id=pk).delete()
