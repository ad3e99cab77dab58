"""manage.py relink [--workspace ID] [--dry-run]: apply the auto-link rule (bounded by
LINKDO_AUTOLINKS_PER_TASK) to stored data: every live task of a workspace chooses its auto edges
again, in one statement per workspace. Pruned edges are tombstoned under a new change version, so
devices pull their removal. Run it once after upgrading from the unbounded rule (README)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from graph.models import Edge, Origin
from graph.services import edges_link_by_tags
from tasks.models import Task
from workspaces.models import Workspace
from workspaces.services import workspace_begin_change


class _DryRun(Exception):
    pass


class Command(BaseCommand):
    help = "Let every task choose its auto-links again under the configured bound."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="only this workspace id")
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args, workspace, dry_run, **options):
        workspaces = Workspace.objects.order_by("id")
        if workspace:
            workspaces = workspaces.filter(pk=workspace)
            if not workspaces.exists():
                raise CommandError(f"No workspace {workspace!r}.")
        before_total = after_total = 0
        for workspace_id in workspaces.values_list("id", flat=True):
            before, after = self._relink(Workspace(pk=workspace_id), dry_run)
            before_total, after_total = before_total + before, after_total + after
        note = " (dry run: nothing was changed)" if dry_run else ""
        self.stdout.write(f"Auto edges: {before_total} before, {after_total} after{note}.\n")

    @staticmethod
    def _relink(workspace: Workspace, dry_run: bool) -> tuple[int, int]:
        live = Edge.objects.live(workspace).filter(origin=Origin.AUTO)
        counts = []
        try:
            with transaction.atomic():
                version = workspace_begin_change(workspace=workspace)
                before = live.count()
                ids = list(Task.objects.live(workspace).values_list("id", flat=True))
                edges_link_by_tags(workspace=workspace, task_ids=ids, version=version)
                counts = [before, live.count()]
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        return counts[0], counts[1]
