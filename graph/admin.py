"""Edges in the admin, read-only."""

from django.contrib import admin

from graph.models import Edge
from tasks.admin import DeletedFilter
from workspaces.admin import ReadOnlyAdmin


@admin.register(Edge)
class EdgeAdmin(ReadOnlyAdmin):
    list_display = ("id", "workspace", "source", "target", "weight", "origin", "deleted_at")
    list_filter = ("origin", DeletedFilter)
    search_fields = ("source__client_id", "source__title", "target__client_id", "target__title")
    list_select_related = ("workspace", "source", "target")
    show_full_result_count = False
