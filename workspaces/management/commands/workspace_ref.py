"""manage.py workspace_ref ID: the reference logs and metrics carry for a workspace id."""

from django.core.management.base import BaseCommand

from linkdo.observability import workspace_ref


class Command(BaseCommand):
    help = "Print the keyed reference (HMAC with SECRET_KEY) that logs carry for a workspace id."

    def add_arguments(self, parser):
        parser.add_argument("workspace_id")

    def handle(self, *args, workspace_id, **options):
        self.stdout.write(workspace_ref(workspace_id))
