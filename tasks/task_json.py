"""The task JSON, declared once: its keys in order, each with its type for the OpenAPI schema.

tasks.selectors.task_row_to_json builds every answer's task with these keys (list, one task,
graph, sync pull, search, similar, create, update, parse create); tasks.openapi.TaskSerializer is
made from the same declaration, so the schema cannot describe a key the answers lack or miss one
they carry. tests/tasks/test_task_json.py checks every path's answer against it.
"""

from rest_framework import serializers

from tasks.models import Priority, Status

TASK_JSON = {
    "workspace_id": serializers.CharField(),
    "id": serializers.CharField(),
    "title": serializers.CharField(),
    "description": serializers.CharField(allow_blank=True),
    "priority": serializers.ChoiceField(choices=Priority.choices),
    "status": serializers.ChoiceField(choices=Status.choices),
    "category": serializers.CharField(),
    "tags": serializers.ListField(child=serializers.CharField()),
    "due_date": serializers.CharField(
        allow_null=True, help_text="YYYY-MM-DD or an ISO 8601 date-time, as it was sent."
    ),
    "due_timezone": serializers.CharField(
        allow_null=True, help_text="The IANA zone the due time is read in; null: UTC."
    ),
    "recurrence": serializers.CharField(
        allow_null=True,
        help_text="An RFC 5545 RRULE (FREQ=WEEKLY;BYDAY=MO), or null when the task does not recur.",
    ),
    "embedding_status": serializers.ChoiceField(
        choices=["pending", "ready", "failed"],
        help_text="pending: the text changed and no embedding is stored for it yet; failed: the "
        "embedding provider refused this text (see embedding_error); it is not asked again until "
        "the text changes.",
    ),
    "embedding_error": serializers.CharField(
        allow_null=True,
        help_text="Why the provider refused the text, when embedding_status is failed.",
    ),
    "x": serializers.FloatField(),
    "y": serializers.FloatField(),
    "cluster": serializers.IntegerField(allow_null=True),
    "created_at": serializers.DateTimeField(),
    "updated_at": serializers.DateTimeField(),
    "completed_at": serializers.DateTimeField(
        allow_null=True, help_text="When the task was done; null unless its status is `done`."
    ),
}
TASK_JSON_KEYS = tuple(TASK_JSON)

# Added only when asked (`?include=embedding`).
EMBEDDING_KEY = "embedding"
EMBEDDING_FIELD = serializers.ListField(
    child=serializers.FloatField(),
    allow_null=True,
    required=False,
    help_text="Only with ?include=embedding.",
)
