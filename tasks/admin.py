"""Tasks in the admin, read-only, with their embedding state and vector."""

from django.contrib import admin

from tasks.models import Task
from tasks.selectors import embedding_status, task_vector
from workspaces.admin import ReadOnlyAdmin

VECTOR_PREVIEW = 8


class EmbeddingStateFilter(admin.SimpleListFilter):
    title = "embedding"
    parameter_name = "embedding"

    def lookups(self, request, model_admin):
        return (("pending", "pending"), ("ready", "ready"), ("failed", "failed"))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(embedding_hash__isnull=True)
        if self.value() == "ready":
            return queryset.filter(embedding_hash__isnull=False, embedding_error__isnull=True)
        if self.value() == "failed":
            return queryset.filter(embedding_hash__isnull=False, embedding_error__isnull=False)
        return queryset


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", "live"), ("yes", "tombstones"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(deleted_at__isnull=self.value() == "no")
        return queryset


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = (
        "client_id", "title", "workspace", "status", "priority", "category", "embedding_state",
        "updated_at",
    )  # fmt: skip
    list_filter = ("status", "priority", "category", EmbeddingStateFilter, DeletedFilter)
    search_fields = ("title", "client_id")
    list_select_related = ("workspace",)
    show_full_result_count = False
    exclude = ("field_versions",)
    readonly_fields = ("vector",)

    def get_search_results(self, request, queryset, search_term):
        """Title and id by substring, tags by exact tag (`tags` is an array)."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            results |= queryset.filter(tags__contains=[search_term.strip()])
        return results, may_have_duplicates

    @admin.display(description="embedding")
    def embedding_state(self, obj):
        state = embedding_status(obj.embedding_hash, obj.embedding_error)
        return f"failed: {obj.embedding_error}" if state == "failed" else state

    @admin.display(description="vector (read-only)")
    def vector(self, obj):
        vector = task_vector(obj)
        if vector is None:
            return "none stored"
        head = ", ".join(f"{v:.4f}" for v in list(vector)[:VECTOR_PREVIEW])
        return f"{len(vector)} dimensions: [{head}, …]"
