"""The admin's base for inspecting a workspace's rows. The workspace page itself, which shows tasks,
edges and the map, is registered by flows.admin (the tenant layer knows no domain app)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Inspection only; the workspace page links here with ?workspace__id__exact=<id>. Writes belong
    to the services, which keep versions, tombstones and embeddings consistent."""

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "workspace__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
