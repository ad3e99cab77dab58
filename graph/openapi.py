"""Response bodies of the edge and graph API, for the OpenAPI schema only."""

from rest_framework import serializers

from tasks.openapi import TaskSerializer


class EdgeSerializer(serializers.Serializer):
    id = serializers.CharField()
    workspace_id = serializers.CharField()
    source = serializers.CharField()
    target = serializers.CharField()
    weight = serializers.FloatField()
    origin = serializers.ChoiceField(choices=["auto", "manual"])


class EdgeDeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    id = serializers.CharField()


class EdgePairDeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    source = serializers.CharField()
    target = serializers.CharField()
    count = serializers.IntegerField()


class GraphTaskSerializer(TaskSerializer):
    workspace_id = serializers.CharField(required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    created_at = serializers.DateTimeField(required=False)
    updated_at = serializers.DateTimeField(required=False)
    completed_at = serializers.DateTimeField(allow_null=True, required=False)


class GraphEdgeSerializer(EdgeSerializer):
    workspace_id = serializers.CharField(required=False)


class GraphSerializer(serializers.Serializer):
    tasks = GraphTaskSerializer(
        many=True,
        help_text=(
            "`workspace_id`, `description`, `created_at` and `updated_at` are left out with "
            "fields=compact."
        ),
    )
    edges = GraphEdgeSerializer(
        many=True, help_text="`workspace_id` is left out with fields=compact."
    )


class PositionSerializer(serializers.Serializer):
    id = serializers.CharField()
    x = serializers.FloatField()
    y = serializers.FloatField()
    cluster = serializers.IntegerField(allow_null=True)


class ClusterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    size = serializers.IntegerField()
    x = serializers.FloatField()
    y = serializers.FloatField()


class ArrangementSerializer(serializers.Serializer):
    positions = PositionSerializer(many=True)
    clusters = ClusterSerializer(many=True)


class SuggestedEdgeSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    score = serializers.FloatField(help_text="Cosine similarity of the two tasks.")
