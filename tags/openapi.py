"""Response bodies of the tag API, for the OpenAPI schema only."""

from rest_framework import serializers


class TagSuggestionSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField())
    source = serializers.ChoiceField(
        choices=["llm", "similar"],
        help_text="llm: Gemini chose them; similar: voted by the workspace's most similar tasks.",
    )
