"""OpenAPI schema generation (drf-spectacular): the workspace header and every error on every path.

Views answer with JSON shaped by selectors, so the response bodies are described by
documentation serializers in each app's `openapi.py`; this module adds what all /api/ paths share.
"""

import re

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

WORKSPACE_HEADER = OpenApiParameter(
    name="X-Workspace-ID",
    type={"type": "string", "minLength": 1, "maxLength": 128},
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "The data space of this browser. Every row read or written belongs to it; an unknown id "
        "is a new, empty workspace. 1 to 128 printable characters."
    ),
)
GEMINI_KEY_HEADER = OpenApiParameter(
    name="X-Gemini-API-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Optional: the caller's own Gemini key for this request only (never stored or logged).",
)


IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, with `create`: a key of the client's (a UUID) that makes a retry answer the "
        "first answer instead of creating the tasks again; kept 24 hours per workspace. The same "
        "key with another body is a 422; a retry while the first is still served, a 409."
    ),
)


def caller_gemini_key(request) -> str | None:
    """The caller's own Gemini key (GEMINI_KEY_HEADER), or None."""
    return request.headers.get(GEMINI_KEY_HEADER.name) or None


RETRY_AFTER = OpenApiParameter(
    name="Retry-After",
    type=OpenApiTypes.INT,
    location=OpenApiParameter.HEADER,
    response=["429", "503"],
    description="Seconds to wait before trying again.",
)


SINGLE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f]*$"


class StrictCharFieldExtension(OpenApiSerializerFieldExtension):
    """Say in the schema that ids, titles and tags refuse control characters."""

    target_class = "linkdo.fields.StrictCharField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if self.target.single_line:
            schema["pattern"] = SINGLE_LINE_PATTERN
        return schema


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="A sentence saying what went wrong and what to do.")


class ValidationErrorSerializer(serializers.Serializer):
    """`{"detail": ...}` or DRF field errors: `{"<field>": ["<sentence>", ...], ...}`."""

    detail = serializers.CharField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


def error_response(description: str) -> OpenApiResponse:
    """A `{"detail": ...}` answer with what it means for this operation."""
    return OpenApiResponse(response=ErrorSerializer, description=description)


ERRORS_EVERYWHERE = {
    "400": (
        "The request is invalid; the body says which field or header.",
        ValidationErrorSerializer,
    ),
    "401": (
        "This workspace is claimed and the request did not bring its secret "
        "(Authorization: Bearer <secret>), or, on a server that requires secrets, it is not "
        "claimed yet. The same answer whatever was wrong; WWW-Authenticate: Bearer.",
        ErrorSerializer,
    ),
    "429": ("Too many requests from this workspace or address; see Retry-After.", ErrorSerializer),
    "503": ("The database is unavailable; try again after Retry-After seconds.", ErrorSerializer),
}
ERRORS_WITH_BODY = {
    "413": ("The body is larger than the limit; nothing was stored.", ErrorSerializer),
    "415": ("The body must be JSON (Content-Type: application/json).", ErrorSerializer),
}
ERROR_NOT_FOUND = {
    "404": ("No such object in this workspace.", ErrorSerializer),
    # The collection's actions come first in the routes: `GET /api/tasks/sync` is the sync
    # action's path, which takes POST only.
    "405": (
        "The method is not allowed here: an id equal to an action's name (sync, parse) names "
        "that action.",
        ErrorSerializer,
    ),
}


class WorkspaceSecretScheme(OpenApiAuthenticationExtension):
    """The owner's secret of a claimed workspace (workspaces.auth), as an HTTP bearer token."""

    target_class = "workspaces.auth.WorkspaceSecretAuthentication"
    name = "workspaceSecret"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A claimed workspace's secret (POST /api/workspace/claim). Unclaimed "
            "workspaces need none, unless the server requires secrets.",
        }

    def get_security_requirement(self, auto_schema):
        # Optional until the workspace is claimed: both "no auth" and the bearer are allowed.
        return [{self.name: []}, {}]


class LinkDoAutoSchema(AutoSchema):
    """Adds the X-Workspace-ID header and the error answers shared by every /api/ operation."""

    def _is_api(self) -> bool:
        return self.path.startswith("/api/")

    def get_description(self):
        """The handler's own docstring only; the base viewset's docstring is for developers."""
        handler = getattr(
            self.view, getattr(self.view, "action", None) or self.method.lower(), None
        )
        return get_doc(handler) if handler else ""

    def _is_list_view(self, serializer=None):
        # GET /api/graph is a viewset's `list` route that answers with one object.
        action = getattr(self.view, "action", None)
        if action == "list" and getattr(self.view, "list_answers_one_object", False):
            return False
        return super()._is_list_view(serializer)

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        return [WORKSPACE_HEADER, RETRY_AFTER, *parameters] if self._is_api() else parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response" or not self._is_api():
            return responses
        errors = dict(ERRORS_EVERYWHERE)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(ERRORS_WITH_BODY)
        if re.search(r"{\w+}", self.path):
            errors.update(ERROR_NOT_FOUND)
        if self.method == "GET":
            # gunicorn refuses a request line over its limit (8190 bytes) before LinkDo sees it.
            responses.setdefault("414", {"description": "The URL is too long."})
        for code, (description, serializer) in errors.items():
            if code not in responses:
                response = OpenApiResponse(response=serializer, description=description)
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
