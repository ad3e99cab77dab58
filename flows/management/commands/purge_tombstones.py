"""manage.py purge_tombstones --older-than 90d: remove deletion marks that every device has had
time to pull. Clients whose cursor is older than what was purged get `reset_required` and a full
snapshot; a stale write to a purged id is rejected, so deleted tasks do not come back."""

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from graph.models import Edge
from tasks.models import Task
from workspaces.models import Workspace
from workspaces.services import workspace_lock

UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_age(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dhm])", value.strip())
    if not match:
        raise CommandError(
            f"--older-than takes a number and a unit (d, h or m), like 90d; got {value!r}."
        )
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Remove tombstones of deleted tasks and edges older than the given age."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", default="90d", help="age like 90d, 12h or 30m (default 90d)"
        )
        parser.add_argument("--workspace", help="only this workspace id")
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args, older_than, workspace, dry_run, **options):
        horizon = timezone.now() - parse_age(older_than)
        workspaces = Workspace.objects.order_by("id")
        if workspace:
            workspaces = workspaces.filter(pk=workspace)
        tasks_total = edges_total = 0
        for workspace_id in workspaces.values_list("id", flat=True):
            tasks, edges = self._purge(Workspace(pk=workspace_id), horizon, dry_run)
            tasks_total, edges_total = tasks_total + tasks, edges_total + edges
        verb = "Would purge" if dry_run else "Purged"
        self.stdout.write(
            f"{verb} {tasks_total} task and {edges_total} edge tombstone(s) older than {older_than}."
        )

    def _purge(self, workspace: Workspace, horizon, dry_run: bool) -> tuple[int, int]:
        with transaction.atomic():
            workspace_lock(workspace=workspace)
            tasks = Task.objects.of(workspace).filter(deleted_at__lt=horizon)
            edges = Edge.objects.of(workspace).filter(deleted_at__lt=horizon)
            counts = tasks.count(), edges.count()
            if dry_run or not any(counts):
                return counts
            newest = max(
                tasks.aggregate(v=Max("version"))["v"] or 0,
                edges.aggregate(v=Max("version"))["v"] or 0,
            )
            edges.delete()
            Edge.objects.of(workspace).filter(source__in=tasks).delete()
            Edge.objects.of(workspace).filter(target__in=tasks).delete()
            tasks.delete()
            Workspace.objects.filter(pk=workspace.pk, purged_version__lt=newest).update(
                purged_version=newest
            )
        return counts
