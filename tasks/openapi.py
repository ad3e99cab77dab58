"""Response bodies of the task API, for the OpenAPI schema only (views shape JSON in
tasks.selectors; tests check that real answers validate against these)."""

from rest_framework import serializers

from tasks.models import Priority, Status


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
