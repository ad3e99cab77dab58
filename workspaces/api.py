from rest_framework import viewsets

from linkdo.errors import ApplicationError, NotFoundError


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
        super().initial(request, *args, **kwargs)
        if getattr(request, "workspace", None) is None:
            raise ApplicationError("The X-Workspace-ID header is required on /api/ paths.")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.workspace is None:
            return queryset.none()
        return queryset.filter(workspace=self.workspace)

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
