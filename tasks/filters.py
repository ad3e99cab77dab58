"""The task list's filters (django-filter): `?tag=`, `?status=`, `?priority=`, `?category=`."""

import django_filters
from drf_spectacular.utils import extend_schema_field

from tasks import models
from tasks.models import Priority, Status, Task


def _optional_choice_filter(choices) -> django_filters.ChoiceFilter:
    """A choice filter whose empty value (`?status=`, an HTML form's "any") filters nothing."""

    @extend_schema_field({"type": "string", "enum": ["", *(value for value, _ in choices)]})
    class OptionalChoiceFilter(django_filters.ChoiceFilter):
        pass

    return OptionalChoiceFilter(choices=choices)


class TaskFilter(django_filters.FilterSet):
    tag = django_filters.CharFilter(method="filter_tag", max_length=models.MAX_TAG_LENGTH)
    status = _optional_choice_filter(Status.choices)
    priority = _optional_choice_filter(Priority.choices)
    category = django_filters.CharFilter(max_length=models.MAX_CATEGORY_LENGTH)

    class Meta:
        model = Task
        fields = ["tag", "status", "priority", "category"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip()])
