"""manage.py export_workspace ID: one workspace as JSON (flows.transfer)."""

import json

from django.core.management.base import BaseCommand, CommandError

from flows.transfer import workspace_export
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Write one workspace (tasks, edges, vectors, map basis) as JSON: export_workspace ID > f.json"

    def add_arguments(self, parser):
        parser.add_argument("workspace", help="the workspace id (the X-Workspace-ID value)")
        parser.add_argument("--output", "-o", help="a file to write instead of standard output")

    def handle(self, *args, workspace, output, **options):
        found = Workspace.objects.filter(pk=workspace).first()
        if found is None:
            raise CommandError(f"No workspace with id {workspace!r}.")
        document = workspace_export(workspace=found)
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text)
        else:
            self.stdout.write(text)
        self.stderr.write(
            f"Exported {len(document['tasks'])} tasks and {len(document['edges'])} edges "
            f"of {workspace!r}."
        )
