import django_filters
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from linkdo.ai import get_provider
from linkdo.fields import DueDateField, FiniteFloatField, RejectUnknownFieldsMixin, StrictCharField
from tasks import models
from tasks.models import Priority, Status, Task
from tasks.selectors import task_instance_json, task_list, tasks_json
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
        {"workspace_id", "created_at", "updated_at", "embedding", "embedding_status"}
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


class TaskFilter(django_filters.FilterSet):
    tag = django_filters.CharFilter(method="filter_tag", max_length=models.MAX_TAG_LENGTH)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    category = django_filters.CharFilter(max_length=models.MAX_CATEGORY_LENGTH)

    class Meta:
        model = Task
        fields = ["tag", "status", "priority", "category"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip()])


def _provider(request):
    """The configured provider, with the caller's own Gemini key when it sent one (never stored)."""
    return get_provider(api_key=request.headers.get("X-Gemini-API-Key") or None)


def _include_embedding(request) -> bool:
    return "embedding" in request.query_params.get("include", "").split(",")


class TaskViewSet(WorkspaceViewSet):
    queryset = Task.objects.all()
    lookup_field = "client_id"
    lookup_url_kwarg = "task_id"
    filterset_class = TaskFilter
    not_found_noun = "task"

    def get_queryset(self):
        return task_list(workspace=self.workspace) if self.workspace else Task.objects.none()

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        return Response(tasks_json(queryset, include_embedding=_include_embedding(request)))

    def retrieve(self, request, task_id):
        task = self.get_object()
        return Response(task_instance_json(task, include_embedding=_include_embedding(request)))

    def create(self, request):
        serializer = TaskWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_create(
            workspace=self.workspace, data=serializer.validated_data, provider=_provider(request)
        )
        return Response(task_instance_json(task), status=status.HTTP_201_CREATED)

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

    def destroy(self, request, task_id):
        task = self.get_object()
        deleted_edges = task_delete(task=task)
        return Response({"deleted": True, "id": task_id, "deleted_edges": deleted_edges})

    @action(detail=True, methods=["delete"])
    def cascade(self, request, task_id):
        """Same as DELETE on the task (its edges always go with it); kept for the existing PWA."""
        return self.destroy(request, task_id)
