"""manage.py import_workspace FILE: merge an export into its workspace (flows.transfer)."""

import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from flows.transfer import workspace_import
from linkdo.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Merge an export_workspace file into its workspace (or --workspace): ids kept, all or "
        "nothing, and importing the same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a file written by export_workspace ('-' for stdin)")
        parser.add_argument("--workspace", help="import into this workspace id instead")

    def handle(self, *args, file, workspace, **options):
        try:
            if file == "-":
                document = json.load(sys.stdin)
            else:
                with open(file, encoding="utf-8") as handle:
                    document = json.load(handle)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file} is not JSON: {exc}.") from None
        try:
            result = workspace_import(
                document=document, workspace_id=workspace, dim=settings.LINKDO_EMBEDDING_DIM
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        tasks, edges = result["tasks"], result["edges"]
        self.stdout.write(
            f"Imported into {result['workspace']!r}: tasks {tasks['created']} created, "
            f"{tasks['updated']} updated, {tasks['unchanged']} unchanged; edges "
            f"{edges['created']} created, {edges['updated']} updated, "
            f"{edges['unchanged']} unchanged."
        )
