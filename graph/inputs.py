"""What a client may send as an edge: the one edge validation, on REST and in a sync push."""

from rest_framework import serializers

from graph.models import DEFAULT_WEIGHT
from linkdo.fields import FiniteFloatField, RejectUnknownFieldsMixin, StrictCharField
from tasks.models import MAX_ID_LENGTH


class EdgeWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """An edge as a client sends it, on REST and in a sync push (the one edge validation)."""

    echoed_fields = frozenset({"id", "workspace_id", "origin"})

    source = StrictCharField(max_length=MAX_ID_LENGTH, single_line=True)
    target = StrictCharField(max_length=MAX_ID_LENGTH, single_line=True)
    weight = FiniteFloatField(min_value=0.0, max_value=1.0, default=DEFAULT_WEIGHT)

    def validate(self, attrs):
        if attrs["source"] == attrs["target"]:
            raise serializers.ValidationError(
                "An edge needs two different tasks; source and target are the same."
            )
        return attrs
