"""The task API's validation (TaskWriteSerializer, shared with sync and import) and its reads."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from linkdo.ai import get_provider
from linkdo.errors import ConflictError
from linkdo.fields import (
    DueDateField,
    FiniteFloatField,
    RejectUnknownFieldsMixin,
    StrictCharField,
    TimeZoneField,
)
from linkdo.openapi import GEMINI_KEY_HEADER, caller_gemini_key, error_response
from tasks import models
from tasks.models import Priority, Status, Task
from tasks.openapi import STATS_EXAMPLE, ScoredTaskSerializer, StatsSerializer, TaskSerializer
from tasks.selectors import (
    task_json_by_id,
    task_list_to_json,
    task_vector,
    tasks_by_similarity,
    tasks_search,
)
from tasks.stats import workspace_stats
from workspaces.api import WorkspaceViewSet

# Paths under /api/tasks/ that are not task ids.
RESERVED_TASK_IDS = frozenset({"sync", "parse"})


def _validate_task_id(value: str) -> str:
    if "/" in value:
        raise serializers.ValidationError("A task id must not contain '/'.")
    if value in RESERVED_TASK_IDS:
        raise serializers.ValidationError(f"{value!r} is reserved and cannot be a task id.")
    return value


def normalise_tags(tags: list[str]) -> list[str]:
    """Trimmed (by the field), blanks dropped, duplicates removed, first spelling and order kept."""
    return list(dict.fromkeys(tag for tag in tags if tag))


class TaskWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Validates a task body; `partial=True` for PATCH/PUT. Output is shaped by tasks.selectors."""

    echoed_fields = frozenset(
        {
            "workspace_id",
            "created_at",
            "updated_at",
            "completed_at",
            "embedding",
            "embedding_status",
            "embedding_error",
            "cluster",
        }
    )

    id = StrictCharField(
        max_length=models.MAX_ID_LENGTH, single_line=True, validators=[_validate_task_id]
    )
    title = StrictCharField(max_length=models.MAX_TITLE_LENGTH, single_line=True)
    description = StrictCharField(
        max_length=models.MAX_DESCRIPTION_LENGTH,
        allow_blank=True,
        trim_whitespace=False,
        required=False,
    )
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    category = StrictCharField(
        max_length=models.MAX_CATEGORY_LENGTH, single_line=True, required=False
    )
    tags = serializers.ListField(
        child=StrictCharField(max_length=models.MAX_TAG_LENGTH, single_line=True, allow_blank=True),
        max_length=models.MAX_TAGS,
        required=False,
    )
    due_date = DueDateField(allow_null=True, required=False)
    x = FiniteFloatField(
        min_value=-models.MAX_COORDINATE, max_value=models.MAX_COORDINATE, required=False
    )
    y = FiniteFloatField(
        min_value=-models.MAX_COORDINATE, max_value=models.MAX_COORDINATE, required=False
    )

    def validate_tags(self, value):
        return normalise_tags(value)


class SearchQuerySerializer(serializers.Serializer):
    # An empty `q` (a cleared search box) lists without ranking.
    q = StrictCharField(
        max_length=models.MAX_TITLE_LENGTH, required=False, allow_blank=True, trim_whitespace=False
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=200, default=20, help_text="With `q`: how many ranked tasks."
    )


class SimilarQuerySerializer(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=100, default=10)


def _optional_choice_filter(choices) -> django_filters.ChoiceFilter:
    """A choice filter whose empty value (`?status=`, an HTML form's "any") filters nothing."""

    @extend_schema_field({"type": "string", "enum": ["", *(value for value, _ in choices)]})
    class OptionalChoiceFilter(django_filters.ChoiceFilter):
        pass

    return OptionalChoiceFilter(choices=choices)


class TaskFilter(django_filters.FilterSet):
    tag = django_filters.CharFilter(method="filter_tag", max_length=models.MAX_TAG_LENGTH)
    status = _optional_choice_filter(Status.choices)
    priority = _optional_choice_filter(Priority.choices)
    category = django_filters.CharFilter(max_length=models.MAX_CATEGORY_LENGTH)

    class Meta:
        model = Task
        fields = ["tag", "status", "priority", "category"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip()])


def request_provider(request):
    """The configured provider, with the caller's own Gemini key when it sent one (never stored)."""
    return get_provider(api_key=caller_gemini_key(request))


class IncludeQuerySerializer(serializers.Serializer):
    include = serializers.ChoiceField(
        choices=["embedding"], required=False, help_text="`embedding` adds the stored vectors."
    )


class TaskReadViewSet(WorkspaceViewSet):
    """The task reads: list (filtered, or searched with `q`), one task, similar tasks. The writes,
    which link and place tasks too, are flows.api.TaskViewSet's."""

    queryset = Task.objects.all()
    lookup_field = "client_id"
    lookup_url_kwarg = "task_id"
    filterset_class = TaskFilter
    not_found_noun = "task"

    def get_queryset(self):
        return super().get_queryset().order_by("created_at", "id")

    @extend_schema(
        parameters=[SearchQuerySerializer, IncludeQuerySerializer, GEMINI_KEY_HEADER],
        responses=ScoredTaskSerializer(many=True),
        description="Live tasks, filtered; with `q`, ranked by similarity to it (each with `score`).",
    )
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        include_embedding = self._include_embedding()
        search = self.validated_query(SearchQuerySerializer)
        query = search.pop("q", "").strip()
        if query:
            return Response(
                tasks_search(queryset, q=query, provider=request_provider(request), **search)
            )
        return Response(task_list_to_json(queryset, include_embedding=include_embedding))

    def _include_embedding(self) -> bool:
        if "include" not in self.request.query_params:  # the common case, on the hottest reads
            return False
        return self.validated_query(IncludeQuerySerializer).get("include") == "embedding"

    @extend_schema(
        parameters=[SimilarQuerySerializer],
        responses={
            200: ScoredTaskSerializer(many=True),
            409: error_response("The task has no embedding yet (pending)."),
        },
    )
    @action(detail=True, methods=["get"])
    def similar(self, request, task_id):
        """The k tasks of this workspace nearest to this one by cosine distance, with `score`;
        the list filters (tag, status, priority, category) narrow the candidates."""
        task = self.get_object()
        k = self.validated_query(SimilarQuerySerializer)["k"]
        vector = task_vector(task)
        if vector is None:
            raise ConflictError(
                f"Task {task_id!r} has no embedding yet (pending); similar tasks need one."
            )
        return Response(
            tasks_by_similarity(
                self.filter_queryset(self.get_queryset()),
                vector,
                limit=k,
                exclude_id=task.pk,
            )
        )

    @extend_schema(parameters=[IncludeQuerySerializer], responses=TaskSerializer)
    def retrieve(self, request, task_id):
        found = task_json_by_id(
            workspace=self.workspace,
            client_id=task_id,
            include_embedding=self._include_embedding(),
        )
        if found is None:
            raise self.not_found(task_id)
        return Response(found)


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
