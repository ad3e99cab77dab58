"""The workspace page of the admin: counts, the map as a picture, previews of tasks and edges, and
two actions that go through the same services as the API. Rows are read-only (ReadOnlyAdmin)."""

import logging
from io import StringIO
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.core.management import CommandError, call_command
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from graph.map import graph_auto_arrange
from graph.models import Edge
from graph.svg import MapNode, map_svg
from linkdo.observability import logfmt, workspace_ref
from tasks.charts import daily_chart_svg
from tasks.models import Task
from tasks.stats import workspace_stats
from workspaces.admin import ReadOnlyAdmin
from workspaces.models import Workspace
from workspaces.services import workspace_remove_secret

logger = logging.getLogger("linkdo.admin")

MAP_MAX_TASKS = 5000
ACTIVITY_DAYS = 30
PREVIEW_ROWS = 50


def _count(queryset):
    per_workspace = (
        queryset.filter(workspace=OuterRef("pk"))
        .order_by()
        .values("workspace")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(per_workspace, output_field=IntegerField()), 0)


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "claimed",
        "task_count",
        "edge_count",
        "pending_count",
        "last_seen_at",
        "arranged_at",
    )
    search_fields = ("id",)
    ordering = ("-last_seen_at",)
    actions = ("reembed", "auto_arrange", "remove_secret")
    fields = (
        "id",
        ("created_at", "last_seen_at", "arranged_at"),
        ("task_count", "edge_count", "pending_count", "change_version"),
        ("map", "activity"),
        "tasks_preview",
        "edges_preview",
    )
    readonly_fields = (
        "id", "created_at", "last_seen_at", "arranged_at", "task_count", "edge_count",
        "pending_count", "change_version", "map", "activity", "tasks_preview", "edges_preview",
    )  # fmt: skip

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .defer("layout_mean", "layout_wx", "layout_wy")
            .annotate(
                _tasks=_count(Task.objects.filter(deleted_at__isnull=True)),
                _edges=_count(Edge.objects.filter(deleted_at__isnull=True)),
                _pending=_count(
                    Task.objects.filter(deleted_at__isnull=True, embedding_hash__isnull=True)
                ),
            )
        )

    # Actions write through services, which may need the change permission; admin users only.
    def has_reembed_permission(self, request):
        return request.user.is_superuser

    has_auto_arrange_permission = has_reembed_permission
    has_remove_secret_permission = has_reembed_permission

    def get_list_display(self, request):
        """Full workspace ids for admin users only; other staff see the keyed reference the logs
        carry (manage.py workspace_ref)."""
        shown = super().get_list_display(request)
        if request.user.is_superuser:
            return shown
        return ("reference", *shown[1:])

    def get_list_display_links(self, request, list_display):
        # A change page's address holds the id: no links for staff who may not see ids.
        if request.user.is_superuser:
            return super().get_list_display_links(request, list_display)
        return None

    def get_search_results(self, request, queryset, search_term):
        if not request.user.is_superuser:  # by exact id only, never by a part of one
            return queryset.filter(pk=search_term) if search_term else queryset, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="workspace")
    def reference(self, obj):
        return workspace_ref(obj.pk)

    @admin.display(description="claimed", boolean=True)
    def claimed(self, obj):
        return obj.secret_hash is not None

    @admin.display(description="tasks", ordering="_tasks")
    def task_count(self, obj):
        return obj._tasks

    @admin.display(description="edges", ordering="_edges")
    def edge_count(self, obj):
        return obj._edges

    @admin.display(description="pending embeddings", ordering="_pending")
    def pending_count(self, obj):
        return obj._pending

    @admin.display(description="map")
    def map(self, obj):
        rows = list(
            Task.objects.live(obj)
            .order_by("id")
            .values_list("client_id", "title", "x", "y", "cluster", "category")[:MAP_MAX_TASKS]
        )
        nodes = [
            MapNode(cid, title, x, y, str(cluster) if cluster is not None else category)
            for cid, title, x, y, cluster, category in rows
        ]
        edges = Edge.objects.live(obj).values_list(
            "source__client_id", "target__client_id", "weight"
        )
        note = (
            format_html("<p>Showing the first {} tasks.</p>", MAP_MAX_TASKS)
            if len(rows) == MAP_MAX_TASKS
            else ""
        )
        legend = "colour: cluster of the last auto-arrange, else category"
        return format_html(
            "{}{}<p class='help'>{}</p>", mark_safe(map_svg(nodes, list(edges))), note, legend
        )

    @admin.display(description="last 30 days")
    def activity(self, obj):
        stats = workspace_stats(workspace=obj, days=ACTIVITY_DAYS, tz=ZoneInfo("UTC"))
        summary = format_html(
            "<p class='help'>{} done of {} ({}), streak {} days, {} overdue; days in UTC</p>",
            stats["done"],
            stats["total"],
            "-" if stats["completion_rate"] is None else f"{stats['completion_rate']:.0%}",
            stats["streak_days"],
            stats["overdue"],
        )
        return format_html("{}{}", mark_safe(daily_chart_svg(stats["daily"])), summary)

    @admin.display(description="tasks")
    def tasks_preview(self, obj):
        tasks = Task.objects.live(obj).order_by("-updated_at")
        rows = format_html_join(
            "",
            "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    reverse("admin:tasks_task_change", args=[pk]),
                    client_id,
                    title,
                    status,
                    priority,
                    ", ".join(tags),
                )
                for pk, client_id, title, status, priority, tags in tasks.values_list(
                    "pk", "client_id", "title", "status", "priority", "tags"
                )[:PREVIEW_ROWS]
            ),
        )
        link = (
            reverse("admin:tasks_task_changelist")
            + "?"
            + urlencode({"workspace__id__exact": obj.pk})
        )
        return format_html(
            "<table><tr><th>id</th><th>title</th><th>status</th><th>priority</th><th>tags</th>"
            "</tr>{}</table><p><a href='{}'>All {} tasks</a></p>",
            rows,
            link,
            obj._tasks,
        )

    @admin.display(description="edges")
    def edges_preview(self, obj):
        edges = Edge.objects.live(obj).order_by("-pk")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            edges.values_list("source__client_id", "target__client_id", "weight", "origin")[
                :PREVIEW_ROWS
            ],
        )
        link = (
            reverse("admin:graph_edge_changelist")
            + "?"
            + urlencode({"workspace__id__exact": obj.pk})
        )
        return format_html(
            "<table><tr><th>source</th><th>target</th><th>weight</th><th>origin</th></tr>{}"
            "</table><p><a href='{}'>All {} edges</a></p>",
            rows,
            link,
            obj._edges,
        )

    @admin.action(description="Re-embed the selected workspaces", permissions=["reembed"])
    def reembed(self, request, queryset):
        for workspace in queryset:
            output = StringIO()
            try:
                call_command("reembed", workspace=workspace.pk, stdout=output, stderr=StringIO())
            except CommandError as exc:
                self.message_user(request, f"Workspace {workspace.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Workspace {workspace.pk}: {output.getvalue().strip()}")

    @admin.action(
        description="Remove the owner's secret (a user who lost it claims the workspace again)",
        permissions=["remove_secret"],
    )
    def remove_secret(self, request, queryset):
        for workspace in queryset:
            if workspace_remove_secret(workspace_id=workspace.pk):
                message = f"Removed the workspace secret (by {request.user.get_username()})."
                self.log_change(request, workspace, message)
                logger.warning(
                    logfmt("workspace_secret_removed", workspace=workspace_ref(workspace.pk),
                           operator=request.user.get_username())
                )  # fmt: skip
                self.message_user(request, f"{workspace_ref(workspace.pk)}: secret removed.")

    @admin.action(description="Auto-arrange the selected workspaces", permissions=["auto_arrange"])
    def auto_arrange(self, request, queryset):
        for workspace in queryset:
            result = graph_auto_arrange(workspace=workspace)
            self.message_user(
                request,
                f"Workspace {workspace.pk}: arranged {len(result['positions'])} tasks in "
                f"{len(result['clusters'])} clusters.",
            )
