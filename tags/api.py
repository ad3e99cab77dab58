from rest_framework.response import Response

from tasks.selectors import tag_list
from workspaces.api import WorkspaceViewSet


class TagViewSet(WorkspaceViewSet):
    def list(self, request):
        return Response(tag_list(workspace=self.workspace))
