import io

import pytest
from django.core.management import CommandError, call_command

from graph.map import tasks_embed_batch
from linkdo.ai import get_provider
from linkdo.ai.vectors import embedding_hash, embedding_text
from tasks.models import Embedding, Task
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def reembed(*args) -> str:
    out = io.StringIO()
    call_command("reembed", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_embeds_what_is_missing_then_nothing(ws_a, ws_b):
    TaskFactory.create_batch(3, workspace=ws_a)
    TaskFactory.create_batch(2, workspace=ws_b)
    assert "Embedded 5 of 5" in reembed()
    model = get_provider().embedding_model
    for task in Task.objects.all():
        text = embedding_text(task.title, task.description, task.tags)
        assert task.embedding_hash == embedding_hash(model, text)
        assert task.embedding.vector is not None
    assert "Embedded 0 of 5" in reembed()


def test_dry_run_changes_nothing(ws_a):
    TaskFactory.create_batch(3, workspace=ws_a)
    assert reembed("--dry-run", "--batch-size", "2") == (
        "Would embed 3 of 3 task(s) with local:char2-4+words-hash-v1:768 in 2 provider call(s).\n"
    )
    assert Embedding.objects.count() == 0


def test_workspace_option_limits_the_work(ws_a, ws_b):
    TaskFactory(workspace=ws_a)
    other = TaskFactory(workspace=ws_b)
    reembed("--workspace", "alpha")
    other.refresh_from_db()
    assert not Embedding.objects.filter(task=other).exists()
    assert Embedding.objects.filter(task__workspace=ws_a).count() == 1


def test_a_model_change_re_embeds_everything(ws_a, gemini):
    TaskFactory.create_batch(150, workspace=ws_a)
    reembed()
    assert gemini.calls == {"batchEmbedContents": 2}  # 150 tasks, batches of 100
    gemini.reset()
    assert "Embedded 0 of 150" in reembed()
    assert gemini.total_calls() == 0
    assert "Embedded 150 of 150" in reembed("--force")


def test_interrupted_run_resumes_and_reports_progress(ws_a, gemini):
    TaskFactory.create_batch(120, workspace=ws_a)
    gemini.mode = "error500"
    with pytest.raises(CommandError, match="run the command again to resume"):
        reembed("--batch-size", "100")
    gemini.mode = "ok"
    assert "Embedded 120 of 120" in reembed()


def test_a_row_edited_meanwhile_is_not_overwritten(ws_a):
    task = TaskFactory(workspace=ws_a, title="Old")
    stale = (task.pk, task.workspace_id, "Old", "", [])
    Task.objects.filter(pk=task.pk).update(
        title="New", updated_at=task.updated_at.replace(year=2030)
    )
    assert tasks_embed_batch(rows=[stale], provider=get_provider()) == 0
    assert not Embedding.objects.filter(task_id=task.pk).exists()


def test_bad_batch_size_is_refused():
    with pytest.raises(CommandError, match="between 1 and 100"):
        reembed("--batch-size", "500")
