"""The edge and graph API: edges, the whole graph, auto-arrange, suggested edges."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from graph.inputs import EdgeWriteSerializer
from graph.map import graph_auto_arrange
from graph.models import Edge
from graph.openapi import (
    ArrangementSerializer,
    EdgeDeletedSerializer,
    EdgePairDeletedSerializer,
    EdgeSerializer,
    GraphSerializer,
    SuggestedEdgeSerializer,
)
from graph.selectors import (
    edge_by_public_id,
    edge_list,
    edge_list_to_json,
    edge_to_json,
    graph_json,
    suggested_edges,
)
from graph.services import edge_create, edge_delete, edge_delete_pair
from linkdo.openapi import GEMINI_KEY_HEADER, error_response
from workspaces.api import WorkspaceViewSet


class EdgeViewSet(WorkspaceViewSet):
    queryset = Edge.objects.all()
    lookup_value_regex = "[^/]+"  # opaque ids (linkdo.opaque); plain numbers from older clients
    not_found_noun = "edge"

    def get_object(self):
        edge = edge_by_public_id(workspace=self.workspace, public=self.kwargs["pk"])
        if edge is None:
            raise self.not_found(self.kwargs["pk"])
        return edge

    @extend_schema(responses=EdgeSerializer(many=True))
    def list(self, request):
        return Response(edge_list_to_json(edge_list(workspace=self.workspace)))

    @extend_schema(
        request=EdgeWriteSerializer,
        responses={
            201: EdgeSerializer,
            200: OpenApiResponse(EdgeSerializer, description="The pair was linked already."),
            404: error_response("A task named by source or target does not exist here."),
        },
    )
    def create(self, request):
        serializer = EdgeWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        edge, created = edge_create(workspace=self.workspace, **serializer.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(edge_to_json(edge), status=code)

    @extend_schema(responses={200: EdgeDeletedSerializer})
    def destroy(self, request, pk):
        edge_delete(workspace=self.workspace, edge=self.get_object())
        return Response({"deleted": True, "id": pk})

    @extend_schema(operation_id="edges_pair_destroy", responses={200: EdgePairDeletedSerializer})
    @action(
        detail=False,
        methods=["delete"],
        url_path=r"(?P<source>[^/]+)/(?P<target>[^/]+)",
        url_name="pair",
    )
    def delete_pair(self, request, source, target):
        """Delete the edge between two tasks, whichever way round it was created."""
        deleted = edge_delete_pair(workspace=self.workspace, source=source, target=target)
        return Response({"deleted": True, "source": source, "target": target, "count": deleted})


class GraphQuerySerializer(serializers.Serializer):
    fields = serializers.ChoiceField(choices=["compact"], required=False)


class SuggestedEdgesQuerySerializer(serializers.Serializer):
    min_score = serializers.FloatField(min_value=-1.0, max_value=1.0, default=0.8)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)


class GraphViewSet(WorkspaceViewSet):
    filter_backends = []
    list_answers_one_object = True  # {"tasks": [...], "edges": [...]}, for the OpenAPI schema

    @extend_schema(parameters=[GraphQuerySerializer], responses=GraphSerializer)
    def list(self, request):
        compact = self.validated_query(GraphQuerySerializer).get("fields") == "compact"
        return Response(graph_json(workspace=self.workspace, compact=compact))

    @extend_schema(request=None, responses=ArrangementSerializer, parameters=[GEMINI_KEY_HEADER])
    @action(detail=False, methods=["post"], url_path="auto-arrange", url_name="auto-arrange")
    def auto_arrange(self, request):
        """Embed the pending tasks (within LINKDO_ARRANGE_EMBED_TIMEOUT_S), then lay the map out
        from the embeddings (PCA, aligned to the previous layout) and store it."""
        provider = self.provider()
        return Response(graph_auto_arrange(workspace=self.workspace, provider=provider))

    @extend_schema(
        parameters=[SuggestedEdgesQuerySerializer], responses=SuggestedEdgeSerializer(many=True)
    )
    @action(detail=False, methods=["get"], url_path="suggested-edges", url_name="suggested-edges")
    def suggested_edges(self, request):
        """Pairs of semantically close tasks that are not linked yet, best first."""
        query = self.validated_query(SuggestedEdgesQuerySerializer)
        return Response(suggested_edges(workspace=self.workspace, **query))
