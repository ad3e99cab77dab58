"""Response bodies of the sync API, for the OpenAPI schema only (flows.sync shapes the JSON;
tests check that real answers validate against these). The request is flows.api.SyncRequestSerializer."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from tasks.models import Priority
from tasks.openapi import TaskSerializer

SYNC_STATUSES = ["created", "updated", "unchanged", "deleted", "conflict", "rejected"]
PARSE_SOURCES = ["llm", "rules"]


class SyncResultSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["task", "edge"])
    id = serializers.JSONField(help_text="The item's id (task id or edge id/pair), as sent.")
    status = serializers.ChoiceField(choices=SYNC_STATUSES)
    reason = serializers.CharField(required=False)
    version = serializers.IntegerField(required=False)
    source = serializers.CharField(required=False)
    target = serializers.CharField(required=False)
    server = serializers.DictField(required=False, help_text="The server's row, on conflict.")
    conflicts = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="On a task's conflict: the fields whose server value was kept (changed on the "
        "server after the item's base_version); the item's other fields were applied.",
    )


class SyncTaskChangeSerializer(TaskSerializer):
    """A live task, or `{"id", "deleted": true, "version"}` for a deleted one."""

    version = serializers.IntegerField(required=False)
    deleted = serializers.BooleanField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            if name != "id":
                field.required = False
        return fields


class SyncEdgeChangeSerializer(serializers.Serializer):
    id = serializers.CharField()
    workspace_id = serializers.CharField(required=False)
    source = serializers.CharField()
    target = serializers.CharField()
    weight = serializers.FloatField(required=False)
    origin = serializers.ChoiceField(choices=["auto", "manual"], required=False)
    version = serializers.IntegerField(required=False)
    deleted = serializers.BooleanField(required=False)


class SyncResponseSerializer(serializers.Serializer):
    results = SyncResultSerializer(many=True)
    sync_stats = serializers.DictField(child=serializers.IntegerField())
    tasks = SyncTaskChangeSerializer(many=True)
    edges = SyncEdgeChangeSerializer(many=True)
    synced_at = serializers.DateTimeField()
    cursor = serializers.CharField(
        required=False, help_text="Delta protocol: store it, send it next."
    )
    has_more = serializers.BooleanField(required=False)
    reset_required = serializers.BooleanField(
        required=False, help_text="The cursor predates a purge: this page starts a full snapshot."
    )


class ParseMatchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["date", "time", "recurrence", "priority", "tag", "category"]
    )
    text = serializers.CharField(help_text="The words as written.")
    start = serializers.IntegerField(help_text="Offset in the request's text (characters).")
    end = serializers.IntegerField()


class ParsedTaskOutSerializer(serializers.Serializer):
    title = serializers.CharField()
    description = serializers.CharField()
    due_date = serializers.CharField(
        allow_null=True,
        help_text="YYYY-MM-DD, or a UTC date-time when the text names a time (read in `timezone`).",
    )
    due_timezone = serializers.CharField(
        allow_null=True, help_text="The request's time zone when the text names a time."
    )
    recurrence = serializers.CharField(
        allow_null=True, help_text="An RFC 5545 RRULE (`매주 월요일`: FREQ=WEEKLY;BYDAY=MO)."
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices,
        allow_null=True,
        help_text="From a marker (!!, p1, 급함); null: none.",
    )
    category = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    source_text = serializers.CharField(help_text="The part of the text the task comes from.")
    matches = ParseMatchSerializer(
        many=True, help_text="What was read as a date, time, recurrence or marker, to underline."
    )


class ParseResponseSerializer(serializers.Serializer):
    tasks = ParsedTaskOutSerializer(many=True)
    source = serializers.ChoiceField(
        choices=PARSE_SOURCES, help_text="`llm`: Gemini answered; `rules`: the offline rules."
    )


class ParseCreatedSerializer(serializers.Serializer):
    tasks = TaskSerializer(many=True, help_text="The stored tasks, with server-made ids.")
    source = serializers.ChoiceField(choices=PARSE_SOURCES)


PARSE_EXAMPLES = [
    OpenApiExample(
        "Korean",
        value={"text": "오늘 방 청소하고 빨래해야해", "timezone": "Asia/Seoul"},
        request_only=True,
    ),
    OpenApiExample(
        "Time, recurrence and a marker",
        value={"text": "내일 오후 3시 치과 예약, 매주 월요일 보고서 제출 !!", "today": "2026-11-23",
               "timezone": "Asia/Seoul"},
        request_only=True,
    ),
    OpenApiExample(
        "English",
        value={
            "text": "Tomorrow call mom and buy milk, then finish the report by Friday",
            "today": "2026-11-23",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Two tasks: a time, a recurrence, a marker",
        value={
            "tasks": [
                {"title": "치과 예약", "description": "", "due_date": "2026-11-24T06:00:00Z",
                 "due_timezone": "Asia/Seoul", "recurrence": None, "priority": None,
                 "category": "general", "tags": [], "source_text": "내일 오후 3시 치과 예약",
                 "matches": [{"kind": "date", "text": "내일", "start": 0, "end": 2},
                             {"kind": "time", "text": "오후 3시", "start": 3, "end": 8}]},
                {"title": "보고서 제출", "description": "", "due_date": "2026-11-23",
                 "due_timezone": None, "recurrence": "FREQ=WEEKLY;BYDAY=MO",
                 "priority": "critical", "category": "general", "tags": [],
                 "source_text": "매주 월요일 보고서 제출 !!",
                 "matches": [{"kind": "recurrence", "text": "매주 월요일", "start": 16, "end": 22},
                             {"kind": "priority", "text": "!!", "start": 30, "end": 32}]},
            ],
            "source": "rules",
        },
        response_only=True,
        status_codes=["200"],
    ),
]  # fmt: skip
