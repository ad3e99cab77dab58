import factory
from django.utils import timezone

from graph.models import Edge, Origin
from tasks.models import Embedding, Task
from workspaces.models import Workspace


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"workspace-{n}")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    client_id = factory.Sequence(lambda n: f"task-{n}")
    title = factory.Sequence(lambda n: f"Task number {n}")
    tags = factory.LazyFunction(list)
    status = "todo"
    completed_at = factory.LazyAttribute(lambda t: timezone.now() if t.status == "done" else None)

    @factory.post_generation
    def embedding(task, create, vector, **kwargs):
        """TaskFactory(embedding=[...]) also stores the task's vector row."""
        if create and vector is not None:
            Embedding.objects.create(task=task, workspace=task.workspace, vector=vector)


class EdgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Edge

    workspace = factory.SelfAttribute("source.workspace")
    source = factory.SubFactory(TaskFactory)
    target = factory.SubFactory(TaskFactory, workspace=factory.SelfAttribute("..source.workspace"))
    weight = 0.5
    origin = Origin.MANUAL
