"""The base viewset: every API view is scoped to the request's workspace."""

import re

from rest_framework import viewsets

from linkdo.db import retry_on_deadlock
from linkdo.errors import ApplicationError, NotFoundError
from workspaces.services import workspace_touch

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

    def get_object(self):
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        obj = self.get_queryset().filter(**{self.lookup_field: lookup}).first()
        if obj is None:
            raise self.not_found(lookup)
        return obj

    def not_found(self, lookup) -> NotFoundError:
        return NotFoundError(f"No {self.not_found_noun} with id {lookup!r} in this workspace.")
