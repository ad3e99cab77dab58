"""The base viewset: every API view is scoped to the request's workspace."""

import re
from urllib.parse import urlencode

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from linkdo.ai import get_provider
from linkdo.db import retry_on_deadlock
from linkdo.errors import ApplicationError, NotFoundError
from linkdo.fields import iso_datetime
from linkdo.openapi import caller_gemini_key, error_response
from workspaces.models import Workspace
from workspaces.services import workspace_claim, workspace_rotate_secret, workspace_touch
from workspaces.tickets import ticket_issue

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class WorkspaceViewSet(viewsets.GenericViewSet):
    """Base of every API view: all querysets are scoped to `request.workspace`.

    A view without a resolved workspace returns nothing; another workspace's rows are simply absent,
    so their ids answer 404 (never 403, which would confirm that they exist).
    """

    lookup_value_regex = "[^/]+"
    not_found_noun = "object"

    @property
    def workspace(self):
        return self.request.workspace

    def initial(self, request, *args, **kwargs):
        # A path id with a control character (`/api/tasks/%00`) names nothing that can exist.
        for value in kwargs.values():
            if isinstance(value, str) and _CONTROL.search(value):
                raise NotFoundError(
                    f"No {self.not_found_noun} with id {value!r} in this workspace."
                )
        # DRF's checks, the throttles among them, come first: a refused request writes nothing.
        super().initial(request, *args, **kwargs)
        workspace_id = getattr(request, "workspace_id", None)
        if workspace_id is None:
            raise ApplicationError("The X-Workspace-ID header is required on /api/ paths.")
        request.workspace = request._request.workspace = workspace_touch(workspace_id=workspace_id)
        # A deadlock victim is run again, never answered as "the database is unavailable".
        method = request.method.lower()
        if (handler := getattr(self, method, None)) is not None:
            setattr(self, method, retry_on_deadlock(handler))

    def get_queryset(self):
        """The workspace's live rows of `queryset` (a WorkspaceQuerySet); nothing without one."""
        queryset = super().get_queryset()
        if self.workspace is None:
            return queryset.none()
        return queryset.live(self.workspace)

    def validated_query(self, serializer_class) -> dict:
        """The query string checked by a serializer, as plain values: `?k=` is an invalid k, not
        an absent one (DRF's form handling would drop it silently)."""
        serializer = serializer_class(data=self.request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def provider(self):
        """The configured AI provider, with the caller's own Gemini key when it sent one (never
        stored)."""
        return get_provider(api_key=caller_gemini_key(self.request))

    def get_object(self):
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        obj = self.get_queryset().filter(**{self.lookup_field: lookup}).first()
        if obj is None:
            raise self.not_found(lookup)
        return obj

    def not_found(self, lookup) -> NotFoundError:
        return NotFoundError(f"No {self.not_found_noun} with id {lookup!r} in this workspace.")


class WorkspaceSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(
        help_text="The workspace's secret, shown this once: send it as "
        "`Authorization: Bearer <secret>` on every /api/ request of this workspace."
    )


class WorkspaceStateSerializer(serializers.Serializer):
    claimed = serializers.BooleanField(help_text="Whether the workspace has an owner's secret.")
    claimed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the current secret was set (claim or rotation)."
    )
    secret_required = serializers.BooleanField(
        help_text="Whether this server refuses unclaimed workspaces (required mode)."
    )


class WorkspaceInfoViewSet(WorkspaceViewSet):
    """The workspace itself: whether it is claimed, claiming it, rotating its secret."""

    @extend_schema(responses={200: WorkspaceStateSerializer})
    def state(self, request):
        """Whether this workspace is claimed (never its secret or hash)."""
        claimed_at = (
            Workspace.objects.filter(pk=self.workspace.pk)
            .values_list("secret_set_at", flat=True)
            .first()
        )
        return Response(
            {
                "claimed": claimed_at is not None,
                "claimed_at": iso_datetime(claimed_at),
                "secret_required": settings.LINKDO_REQUIRE_WORKSPACE_SECRET,
            }
        )

    @extend_schema(
        request=None,
        responses={
            201: WorkspaceSecretSerializer,
            409: error_response("The workspace is claimed already (sent with its secret)."),
        },
    )
    @action(detail=False, methods=["post"])
    def claim(self, request):
        """Give this unclaimed workspace an owner's secret (201, shown once). A claimed workspace
        answers 401 without its secret and 409 with it."""
        secret = workspace_claim(workspace=self.workspace)
        return Response({"secret": secret}, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: WorkspaceSecretSerializer,
            409: error_response("The workspace has no secret to rotate; claim it first."),
        },
    )
    @action(detail=False, methods=["post"], url_path="secret/rotate")
    def rotate(self, request):
        """A new secret, with the current one; the old one stops working at once."""
        return Response({"secret": workspace_rotate_secret(workspace=self.workspace)})


class EventTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Opens the stream once, within `expires_in` seconds.")
    url = serializers.URLField(help_text="The stream's absolute URL with the ticket: open it.")
    expires_in = serializers.IntegerField(help_text="Seconds the ticket can open a stream.")


class EventsViewSet(WorkspaceViewSet):
    """Live changes: a ticket for the stream; the stream itself (GET /api/events) is served by
    the stream process (workspaces.events), documented here."""

    filter_backends = []
    list_answers_one_object = True

    @extend_schema(
        operation_id="events_stream",
        parameters=[
            OpenApiParameter(
                "ticket", str, required=True, description="From POST /api/events/ticket."
            ),
            OpenApiParameter(
                "since", int, description="The last version seen (as the Last-Event-ID header)."
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR,
                description="Server-Sent Events: after each committed change of the workspace, "
                '`id: <version>`, `event: changed`, `data: {"version": N}` (a poke: pull with your '
                "sync cursor); a comment line every 15 s. With Last-Event-ID or `since`, one poke at "
                "once when the workspace moved on since.",
            ),
            401: error_response("The ticket is missing, not genuine or expired: ask a new one."),
            404: error_response("Asked of the API process, which does not serve the stream."),
            429: error_response("Too many open streams for this workspace or this server."),
        },
    )
    def list(self, request):
        """The workspace's change stream; served by the stream process, not here."""
        raise NotFoundError(
            "The event stream is served by LinkDo's stream process; route /api/events to it."
        )

    @extend_schema(request=None, responses={201: EventTicketSerializer})
    @action(detail=False, methods=["post"])
    def ticket(self, request):
        """A short-lived ticket and the URL that opens this workspace's change stream (an
        EventSource cannot send the workspace's headers)."""
        ticket = ticket_issue(workspace_id=self.workspace.pk)
        base = settings.LINKDO_EVENTS_URL or request.build_absolute_uri("/api/events")
        return Response(
            {
                "ticket": ticket,
                "url": f"{base}?{urlencode({'ticket': ticket})}",
                "expires_in": settings.LINKDO_EVENTS_TICKET_SECONDS,
            },
            status=status.HTTP_201_CREATED,
        )
