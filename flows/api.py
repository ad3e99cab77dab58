"""/api/tasks/: the task resource, reads and writes, with capture (parse) and offline sync. It lives
in flows because its writes span tasks, their embeddings, edges and the map (flows.services)."""

from datetime import datetime

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from flows.capture import tasks_create_parsed, tasks_parse
from flows.openapi import (
    PARSE_EXAMPLES,
    ParseCreatedSerializer,
    ParseResponseSerializer,
    SyncResponseSerializer,
)
from flows.services import task_create, task_delete, task_update
from flows.sync import DEFAULT_LIMIT, MAX_LIMIT, sync_exchange
from linkdo.errors import ApplicationError, ConflictError, errors_text
from linkdo.fields import (
    ParsedJSONField,
    RejectUnknownFieldsMixin,
    StrictCharField,
    TimeZoneField,
    validate_year_range,
)
from linkdo.openapi import (
    GEMINI_KEY_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    caller_gemini_key,
    error_response,
)
from tasks import models
from tasks.filters import TaskFilter
from tasks.inputs import TaskWriteSerializer
from tasks.models import Task
from tasks.openapi import ScoredTaskSerializer, TaskDeletedSerializer, TaskSerializer
from tasks.selectors import (
    task_json_by_id,
    task_list_to_json,
    task_to_json,
    task_vector,
    tasks_by_similarity,
    tasks_search,
)
from workspaces.api import WorkspaceViewSet
from workspaces.idempotency import HEADER as IDEMPOTENCY_HEADER
from workspaces.idempotency import (
    idempotency_claim,
    idempotency_fingerprint,
    idempotency_key,
    idempotency_release,
    idempotency_store,
)


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


class IncludeQuerySerializer(serializers.Serializer):
    include = serializers.ChoiceField(
        choices=["embedding"], required=False, help_text="`embedding` adds the stored vectors."
    )


class SyncRequestSerializer(serializers.Serializer):
    """The sync envelope. Items may be anything: each one is checked on its own, and a bad one is
    answered as `rejected` in `results` (the push still succeeds)."""

    tasks = serializers.ListField(
        child=ParsedJSONField(),
        required=False,
        default=list,
        help_text=(
            "Task items: the task fields, plus optional `deleted`, `base_version`, `updated_at`. "
            "An invalid item is rejected on its own in `results`."
        ),
    )
    edges = serializers.ListField(
        child=ParsedJSONField(),
        required=False,
        default=list,
        help_text="Edge items: `source`, `target`, optional `weight`, `deleted`, `base_version`.",
    )
    cursor = serializers.CharField(
        allow_null=True,
        required=False,
        trim_whitespace=False,
        help_text="Absent: the old full exchange. null or a cursor: the delta protocol.",
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LIMIT,
        required=False,
        default=DEFAULT_LIMIT,
        help_text="Delta protocol: the most changes per page.",
    )
    last_sync_at = serializers.JSONField(
        required=False, allow_null=True, help_text="Sent by the old PWA; ignored."
    )


MAX_PARSE_TEXT = 5000


class ParseRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    text = StrictCharField(
        max_length=MAX_PARSE_TEXT,
        trim_whitespace=False,
        help_text="What the person typed or said, Korean or English (up to 5,000 characters).",
    )
    today = serializers.DateField(
        required=False,
        help_text="YYYY-MM-DD the dates are resolved against; default: today in `timezone`.",
        validators=[validate_year_range],
    )
    timezone = TimeZoneField(default="UTC", help_text="The user's IANA time zone.")
    create = serializers.BooleanField(
        default=False, help_text="Store the tasks (201 with them in the usual task JSON)."
    )

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Type some text to turn into tasks.")
        return value


class TaskViewSet(WorkspaceViewSet):
    """/api/tasks/: list (filtered, or searched with `q`), one task, similar tasks; create, update,
    delete (flows.services); parse and sync."""

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
            return Response(tasks_search(queryset, q=query, provider=self.provider(), **search))
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
            workspace=self.workspace,
            data=serializer.validated_data,
            provider=self.provider(),
        )
        return Response(task_to_json(task), status=status.HTTP_201_CREATED)

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
            provider=self.provider(),
        )
        return Response(task_to_json(task))

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

    @extend_schema(
        request=ParseRequestSerializer,
        responses={
            200: ParseResponseSerializer,
            201: ParseCreatedSerializer,
        },
        parameters=[GEMINI_KEY_HEADER, IDEMPOTENCY_KEY_HEADER],
        examples=PARSE_EXAMPLES,
    )
    @action(detail=False, methods=["post"])
    def parse(self, request):
        """Free text -> tasks: by Gemini when it answers, else by offline rules (Korean and
        English clauses and dates). With `create`, the tasks are stored all or nothing."""
        query = ParseRequestSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        body = query.validated_data
        idempotency = idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
        if idempotency is None or not body["create"]:
            return self._parse(request, body)
        # A retried create (its answer lost on the way) answers the first answer again.
        fingerprint = idempotency_fingerprint("POST", request.path, request.data)
        answered = idempotency_claim(
            workspace=self.workspace, key=idempotency, fingerprint=fingerprint
        )
        if answered is not None:
            return Response(
                answered[1], status=answered[0], headers={"Idempotent-Replayed": "true"}
            )
        try:
            response = self._parse(request, body)
        except BaseException:
            idempotency_release(workspace=self.workspace, key=idempotency)
            raise
        idempotency_store(
            workspace=self.workspace, key=idempotency, status_code=response.status_code,
            body=response.data,
        )  # fmt: skip
        return response

    def _parse(self, request, body: dict) -> Response:
        today = body.get("today") or datetime.now(body["timezone"]).date()
        key = caller_gemini_key(request)
        parsed = tasks_parse(
            workspace=self.workspace, text=body["text"], today=today, zone=body["timezone"],
            api_key=key,
        )  # fmt: skip
        if not body["create"] or not parsed["tasks"]:
            return Response(parsed)
        tasks = tasks_create_parsed(
            workspace=self.workspace, parsed=parsed["tasks"], provider=self.provider()
        )
        return Response(
            {"tasks": [task_to_json(task) for task in tasks], "source": parsed["source"]},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=SyncRequestSerializer,
        responses={200: SyncResponseSerializer},
        parameters=[GEMINI_KEY_HEADER],
    )
    @action(detail=False, methods=["post"])
    def sync(self, request):
        """Offline sync: the old exchange without `cursor`, the delta protocol with it."""
        envelope = SyncRequestSerializer(data=request.data)
        if not envelope.is_valid():
            raise ApplicationError(f"The sync body is not valid: {errors_text(envelope.errors)}")
        return Response(sync_exchange(workspace=self.workspace, request=envelope.validated_data))
