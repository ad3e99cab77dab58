"""Routes: the apps' viewsets under /api/, the schema, Swagger UI, metrics and the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from flows.api import TaskViewSet
from graph.api import EdgeViewSet, GraphViewSet
from linkdo.observability import metrics
from tags.api import TagViewSet
from tasks.api import StatsViewSet
from workspaces.api import EventsViewSet, WorkspaceInfoViewSet


class OptionalSlashRouter(SimpleRouter):
    """Every path answers with and without its trailing slash, with no redirect (old clients POST to
    both forms, and a redirect behind an HTTPS proxy broke their POSTs)."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register("edges", EdgeViewSet, basename="edge")
router.register("tags", TagViewSet, basename="tag")
router.register("graph", GraphViewSet, basename="graph")
router.register("stats", StatsViewSet, basename="stats")
router.register("workspace", WorkspaceInfoViewSet, basename="workspace")
router.register("events", EventsViewSet, basename="events")

urlpatterns = [
    re_path(r"^metrics/?$", metrics, name="metrics"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # One object, not a list: routed by hand (a router's `list` would be documented as an array).
    re_path(r"^api/workspace/?$", WorkspaceInfoViewSet.as_view({"get": "state"}), name="workspace"),
    path("api/", include(router.urls)),
    path("admin/", admin.site.urls),
]

handler404 = "linkdo.errors.not_found"
handler500 = "linkdo.errors.server_error"
