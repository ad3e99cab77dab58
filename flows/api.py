"""The task API's writes and offline sync: the endpoints whose work spans tasks and edges.
Reads come from tasks.api.TaskReadViewSet; the router registers TaskViewSet for /api/tasks/."""

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
from linkdo.errors import ApplicationError, errors_text
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
from tasks.api import TaskReadViewSet, TaskWriteSerializer, request_provider
from tasks.openapi import TaskDeletedSerializer, TaskSerializer
from tasks.selectors import task_to_json
from workspaces.idempotency import HEADER as IDEMPOTENCY_HEADER
from workspaces.idempotency import (
    idempotency_claim,
    idempotency_fingerprint,
    idempotency_key,
    idempotency_release,
    idempotency_store,
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


class TaskViewSet(TaskReadViewSet):
    """/api/tasks/: the reads of TaskReadViewSet, the writes (flows.services) and sync."""

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
            provider=request_provider(request),
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
            provider=request_provider(request),
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
        parsed = tasks_parse(workspace=self.workspace, text=body["text"], today=today, api_key=key)
        if not body["create"] or not parsed["tasks"]:
            return Response(parsed)
        tasks = tasks_create_parsed(
            workspace=self.workspace, parsed=parsed["tasks"], provider=request_provider(request)
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
