import django_filters
from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from linkdo.ai import get_provider
from linkdo.errors import ConflictError
from linkdo.fields import DueDateField, FiniteFloatField, RejectUnknownFieldsMixin, StrictCharField
from linkdo.openapi import GEMINI_KEY_HEADER, error_response
from tasks import models
from tasks.embeddings import embed_or_none
from tasks.models import Priority, Status, Task
from tasks.openapi import (
    ScoredTaskSerializer,
    SyncRequestSerializer,
    SyncResponseSerializer,
    TaskDeletedSerializer,
    TaskSerializer,
)
from tasks.selectors import (
    task_by_id_json,
    task_instance_json,
    task_list,
    task_vector,
    tasks_by_similarity,
    tasks_json,
    tasks_matching_text,
)
from tasks.services import task_create, task_delete, task_update
from workspaces.api import WorkspaceViewSet

# Paths under /api/tasks/ that are not task ids.
RESERVED_TASK_IDS = frozenset({"sync"})


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
        {"workspace_id", "created_at", "updated_at", "embedding", "embedding_status", "cluster"}
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


def _provider(request):
    """The configured provider, with the caller's own Gemini key when it sent one (never stored)."""
    return get_provider(api_key=request.headers.get("X-Gemini-API-Key") or None)


class IncludeQuerySerializer(serializers.Serializer):
    include = serializers.ChoiceField(
        choices=["embedding"], required=False, help_text="`embedding` adds the stored vectors."
    )


class TaskViewSet(WorkspaceViewSet):
    queryset = Task.objects.all()
    lookup_field = "client_id"
    lookup_url_kwarg = "task_id"
    filterset_class = TaskFilter
    not_found_noun = "task"

    def get_queryset(self):
        return task_list(workspace=self.workspace) if self.workspace else Task.objects.none()

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
            return Response(self._search(queryset, q=query, **search))
        return Response(tasks_json(queryset, include_embedding=include_embedding))

    def _include_embedding(self) -> bool:
        if "include" not in self.request.query_params:  # the common case, on the hottest reads
            return False
        return self.validated_query(IncludeQuerySerializer).get("include") == "embedding"

    def _search(self, queryset, *, q: str, limit: int):
        """Rank by similarity to the query's embedding; plain substring match when the provider
        cannot embed it right now (the answer says so with `"score": null`)."""
        provider = _provider(self.request)
        vectors = embed_or_none([q], provider=provider, deadline_s=settings.LINKDO_EMBED_TIMEOUT_S)
        if vectors is None:
            return tasks_matching_text(queryset, q, limit=limit)
        return tasks_by_similarity(queryset, vectors[0], limit=limit)

    @extend_schema(
        request=SyncRequestSerializer,
        responses={200: SyncResponseSerializer},
        parameters=[GEMINI_KEY_HEADER],
    )
    @action(detail=False, methods=["post"])
    def sync(self, request):
        """Offline sync: the old exchange without `cursor`, the delta protocol with it."""
        from tasks.sync import sync_exchange

        return Response(
            sync_exchange(
                workspace=self.workspace, payload=request.data, provider=_provider(request)
            )
        )

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
        if self._include_embedding():
            return Response(task_instance_json(self.get_object(), include_embedding=True))
        found = task_by_id_json(workspace=self.workspace, client_id=task_id)
        if found is None:
            raise self.not_found(task_id)
        return Response(found)

    @extend_schema(
        request=TaskWriteSerializer,
        responses={
            201: TaskSerializer,
            409: error_response("A task with this id already exists in this workspace."),
        },
        parameters=[GEMINI_KEY_HEADER],
    )
    def create(self, request):
        serializer = TaskWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_create(
            workspace=self.workspace, data=serializer.validated_data, provider=_provider(request)
        )
        return Response(task_instance_json(task), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TaskWriteSerializer(partial=True),
        responses=TaskSerializer,
        parameters=[GEMINI_KEY_HEADER],
    )
    def partial_update(self, request, task_id):
        task = self.get_object()
        serializer = TaskWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        task = task_update(
            workspace=self.workspace,
            task=task,
            data=serializer.validated_data,
            provider=_provider(request),
        )
        return Response(task_instance_json(task))

    # The PWA sends only the changed fields with PUT, so PUT is a partial update too.
    update = partial_update

    @extend_schema(responses={200: TaskDeletedSerializer})
    def destroy(self, request, task_id):
        task = self.get_object()
        deleted_edges = task_delete(workspace=self.workspace, task=task)
        return Response({"deleted": True, "id": task_id, "deleted_edges": deleted_edges})

    @extend_schema(responses={200: TaskDeletedSerializer})
    @action(detail=True, methods=["delete"])
    def cascade(self, request, task_id):
        """Same as DELETE on the task (its edges always go with it); kept for the existing PWA."""
        return self.destroy(request, task_id)
