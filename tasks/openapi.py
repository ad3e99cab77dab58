"""Response and sync bodies of the task API, for the OpenAPI schema only (views shape JSON in
tasks.selectors; tests check that real answers validate against these)."""

from rest_framework import serializers

from tasks.models import Priority, Status

SYNC_STATUSES = ["created", "updated", "unchanged", "deleted", "conflict", "rejected"]


class TaskSerializer(serializers.Serializer):
    workspace_id = serializers.CharField()
    id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    priority = serializers.ChoiceField(choices=Priority.choices)
    status = serializers.ChoiceField(choices=Status.choices)
    category = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    due_date = serializers.CharField(
        allow_null=True, help_text="YYYY-MM-DD or an ISO 8601 date-time, as it was sent."
    )
    embedding_status = serializers.ChoiceField(
        choices=["pending", "ready"],
        help_text="pending: the text changed and no embedding is stored for it yet.",
    )
    x = serializers.FloatField()
    y = serializers.FloatField()
    cluster = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    embedding = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        required=False,
        help_text="Only with ?include=embedding.",
    )


class ScoredTaskSerializer(TaskSerializer):
    score = serializers.FloatField(
        allow_null=True,
        required=False,
        help_text=(
            "With `q` and on similar tasks: cosine similarity; null when ranked by a plain text "
            "match because the query could not be embedded."
        ),
    )


class TaskDeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    id = serializers.CharField()
    deleted_edges = serializers.IntegerField()


class SyncRequestSerializer(serializers.Serializer):
    # Items may be anything: each one is checked on its own, and a bad one is answered as
    # `rejected` in `results` (the push still succeeds), so the schema does not constrain them.
    tasks = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text=(
            "Task items: the task fields, plus optional `deleted`, `base_version`, `updated_at`. "
            "An invalid item is rejected on its own in `results`."
        ),
    )
    edges = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text="Edge items: `source`, `target`, optional `weight`, `deleted`, `base_version`.",
    )
    cursor = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="Absent: the old full exchange. null or a cursor: the delta protocol.",
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=2000,
        required=False,
        default=500,
        help_text="Delta protocol: the most changes per page.",
    )
    last_sync_at = serializers.JSONField(required=False, help_text="Sent by the old PWA; ignored.")


class SyncResultSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["task", "edge"])
    id = serializers.JSONField(help_text="The item's id (task id or edge id/pair), as sent.")
    status = serializers.ChoiceField(choices=SYNC_STATUSES)
    reason = serializers.CharField(required=False)
    version = serializers.IntegerField(required=False)
    source = serializers.CharField(required=False)
    target = serializers.CharField(required=False)
    server = serializers.DictField(required=False, help_text="The server's row, on conflict.")


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
