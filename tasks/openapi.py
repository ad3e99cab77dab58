"""Response bodies of the task API, for the OpenAPI schema only (views shape JSON in
tasks.selectors; tests check that real answers validate against these). The task itself is
declared in tasks.task_json."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from tasks.task_json import EMBEDDING_FIELD, EMBEDDING_KEY, TASK_JSON

# The task JSON's keys and types come from tasks.task_json, the one declaration.
TaskSerializer = type(
    "TaskSerializer",
    (serializers.Serializer,),
    {**TASK_JSON, EMBEDDING_KEY: EMBEDDING_FIELD, "__module__": __name__},
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


class CountSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()


class CategoryCountSerializer(CountSerializer):
    category = serializers.CharField()


class TagCountSerializer(CountSerializer):
    tag = serializers.CharField()


class DayCountSerializer(serializers.Serializer):
    date = serializers.DateField()
    created = serializers.IntegerField()
    completed = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Live tasks.")
    open = serializers.IntegerField(help_text="Live tasks not done (todo or in progress).")
    done = serializers.IntegerField()
    overdue = serializers.IntegerField(help_text="Open tasks whose due date has passed.")
    completion_rate = serializers.FloatField(
        allow_null=True, help_text="done / total; null when empty."
    )
    streak_days = serializers.IntegerField(
        help_text="Consecutive days with a completion, ending today or yesterday."
    )
    by_category = CategoryCountSerializer(many=True)
    by_tag = TagCountSerializer(many=True)
    daily = DayCountSerializer(many=True, help_text="`days` entries, oldest first, today last.")


STATS_EXAMPLE = OpenApiExample(
    "A week",
    value={
        "total": 12, "open": 7, "done": 5, "overdue": 1, "completion_rate": 0.4167,
        "streak_days": 3,
        "by_category": [{"category": "work", "total": 8, "done": 3}],
        "by_tag": [{"tag": "report", "total": 4, "done": 2}],
        "daily": [{"date": "2026-11-23", "created": 2, "completed": 1}],
    },
    response_only=True,
)  # fmt: skip
