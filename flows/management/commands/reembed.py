"""manage.py reembed: (re)compute task embeddings in provider batches.

By default every task whose stored vector does not match its current text and the configured model
is embedded, so after a change of model all tasks are, and a second run does nothing (idempotent).
Each batch commits on its own: an interrupted run resumes where it stopped when started again.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from graph.map import tasks_embed_batch
from linkdo.ai import ProviderError, get_provider
from linkdo.ai.gemini import EMBED_BATCH
from linkdo.ai.vectors import embedding_hash, embedding_text
from tasks.embeddings import BATCH_ROW_FIELDS
from tasks.models import Task

ROW_FIELDS = (*BATCH_ROW_FIELDS, "embedding_hash")


class Command(BaseCommand):
    help = "Compute missing or outdated task embeddings in provider batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--pending", action="store_true", help="only tasks whose embedding is pending"
        )
        parser.add_argument(
            "--failed",
            action="store_true",
            help="only tasks whose text the provider refused (embedding_status failed)",
        )
        parser.add_argument("--workspace", help="only this workspace id")
        parser.add_argument("--force", action="store_true", help="re-embed even up-to-date tasks")
        parser.add_argument(
            "--batch-size", type=int, default=EMBED_BATCH, help="texts per provider call (max 100)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would be done, change nothing"
        )

    def handle(self, *args, pending, failed, workspace, force, batch_size, dry_run, **options):
        if not 1 <= batch_size <= EMBED_BATCH:
            raise CommandError(f"--batch-size must be between 1 and {EMBED_BATCH}.")
        provider = get_provider()
        queryset = Task.objects.filter(deleted_at__isnull=True).order_by("id")
        if workspace:
            queryset = queryset.filter(workspace_id=workspace)
        if pending and failed:
            raise CommandError("Choose --pending or --failed, not both.")
        if pending:
            queryset = queryset.filter(embedding_hash__isnull=True)
        if failed:
            queryset = queryset.filter(embedding_hash__isnull=False, embedding_error__isnull=False)
            force = True  # their hash is that of the refused text: asked again on purpose
        model = provider.embedding_model

        def needs_embedding(row) -> bool:
            return force or row[5] != embedding_hash(model, embedding_text(*row[2:5]))

        total = queryset.count()
        todo = stored = skipped = 0
        last_id = 0
        with tqdm(total=total, unit="task", disable=total == 0 or dry_run, file=self.stderr) as bar:
            while True:
                rows = list(queryset.filter(id__gt=last_id).values_list(*ROW_FIELDS)[:batch_size])
                if not rows:
                    break
                last_id = rows[-1][0]
                batch = [row[:5] for row in rows if needs_embedding(row)]
                todo += len(batch)
                if batch and not dry_run:
                    try:
                        written = tasks_embed_batch(rows=batch, provider=provider)
                    except ProviderError as exc:
                        raise CommandError(
                            f"{exc}. {stored} task(s) were stored; run the command again to resume."
                        ) from None
                    stored += written
                    skipped += len(batch) - written
                bar.update(len(rows))
        if dry_run:
            calls = -(-todo // batch_size)
            self.stdout.write(
                f"Would embed {todo} of {total} task(s) with {model} in {calls} provider call(s)."
            )
        else:
            edited = (
                f" ({skipped} edited meanwhile: embedded on their next change)" if skipped else ""
            )
            self.stdout.write(f"Embedded {stored} of {total} task(s) with {model}{edited}.")
