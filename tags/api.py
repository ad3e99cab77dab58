"""The tag API: the vocabulary and suggestions."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from linkdo.fields import RejectUnknownFieldsMixin, StrictCharField
from linkdo.openapi import GEMINI_KEY_HEADER, caller_gemini_key
from tags.openapi import TagSuggestionSerializer
from tags.services import tags_suggest
from tasks.models import MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH
from tasks.selectors import tag_list
from workspaces.api import WorkspaceViewSet


class SuggestTagsSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    # The PWA may send its whole task draft; only title and description matter here.
    echoed_fields = frozenset({"id", "tags", "priority", "status", "category", "due_date"})

    title = StrictCharField(max_length=MAX_TITLE_LENGTH)
    description = StrictCharField(
        max_length=MAX_DESCRIPTION_LENGTH, allow_blank=True, required=False, default=""
    )


class TagViewSet(WorkspaceViewSet):
    filter_backends = []

    @extend_schema(responses=serializers.ListSerializer(child=serializers.CharField()))
    def list(self, request):
        return Response(tag_list(workspace=self.workspace))

    @extend_schema(
        request=SuggestTagsSerializer,
        responses=TagSuggestionSerializer,
        parameters=[GEMINI_KEY_HEADER],
    )
    @action(detail=False, methods=["post"], url_path="suggest-tags", url_name="suggest")
    def suggest_tags(self, request):
        """3 to 5 tags from Gemini (preferring the workspace's own), or up to 5 from similar tasks."""
        serializer = SuggestTagsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = tags_suggest(
            workspace=self.workspace,
            api_key=caller_gemini_key(request),
            **serializer.validated_data,
        )
        return Response(result)
