"""GET /api/stats: how a workspace is going. The /api/tasks resource is flows.api.TaskViewSet (its
writes link and place tasks, which the tasks app cannot do alone)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from linkdo.fields import TimeZoneField
from tasks.openapi import STATS_EXAMPLE, StatsSerializer
from tasks.stats import workspace_stats
from workspaces.api import WorkspaceViewSet


class StatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=365, default=30, help_text="How many days `daily` covers (1 to 365)."
    )
    timezone = TimeZoneField(
        default="UTC", help_text="The user's IANA time zone: where days start and end."
    )


class StatsViewSet(WorkspaceViewSet):
    """GET /api/stats: how the workspace is going."""

    filter_backends = []
    list_answers_one_object = True  # one object, for the OpenAPI schema

    @extend_schema(
        parameters=[StatsQuerySerializer],
        responses=StatsSerializer,
        examples=[STATS_EXAMPLE],
    )
    def list(self, request):
        """Counts over the live tasks (deleted ones do not count), the completion rate, the streak
        of days with a completion ending today or yesterday, per category and tag, and tasks
        created and completed on each of the last `days` days (oldest first, today last)."""
        query = self.validated_query(StatsQuerySerializer)
        return Response(
            workspace_stats(workspace=self.workspace, days=query["days"], tz=query["timezone"])
        )
