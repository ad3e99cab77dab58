"""DRF authentication by workspace secret: every /api/ view of a claimed workspace needs
`Authorization: Bearer <secret>` (workspaces.secrets); with LINKDO_REQUIRE_WORKSPACE_SECRET, an
unclaimed workspace can do nothing but claim.

Every refusal is the same 401 (`WWW-Authenticate: Bearer`), whatever was wrong: no secret, a
wrong, malformed or stale one, an unknown workspace in required mode. Failed checks are counted
per workspace and per address in the shared rate counters; past GUESSES_PER_MINUTE, the next
attempts are 429 with Retry-After before any secret is compared, and no workspace row is touched.
"""

import hashlib

from django.conf import settings
from django.db import connection
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from linkdo.throttling import AddressRateThrottle, shared_counts
from workspaces.secrets import secret_matches

GUESSES_PER_MINUTE = 10
REFUSED = (
    "This workspace needs its secret: send Authorization: Bearer <secret> (the one the claim "
    "answered, or the latest rotation's)."
)


def _stored_hash(workspace_id: str) -> str | None:
    """The workspace's secret hash; None when it has none (unclaimed) or does not exist yet."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_hash FROM workspaces_workspace WHERE id = %s", [workspace_id])
        row = cursor.fetchone()
    return row and row[0]


def _bearer(request) -> str | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _guess_keys(request, workspace_id: str) -> list[str]:
    workspace = hashlib.sha256(workspace_id.encode()).hexdigest()
    return [
        f"guess:workspace:{workspace}",
        f"guess:address:{AddressRateThrottle().get_ident(request)}",
    ]


class WorkspaceSecretAuthentication(BaseAuthentication):
    def authenticate(self, request):
        workspace_id = getattr(request._request, "workspace_id", None)
        if workspace_id is None:  # no workspace here (the schema), or the view says so itself
            return None
        view = request.parser_context.get("view") if request.parser_context else None
        claiming = getattr(view, "action", None) == "claim"
        # Read with the concurrency slots when they are on (linkdo.throttling), else here. Only
        # for the very id this request names: the slots read the raw header, which differs from
        # the decoded id for a non-ASCII one.
        read = getattr(request._request, "workspace_secret_hash", None)
        if read is not None and read[0] == workspace_id:
            stored = read[1]
        else:
            stored = _stored_hash(workspace_id)
        if stored is None and not (settings.LINKDO_REQUIRE_WORKSPACE_SECRET and not claiming):
            return None  # an unclaimed workspace: the header-only PWA keeps working
        # From here every refusal does the same work, whatever was wrong (no secret, a wrong,
        # malformed or stale one, an unknown workspace in required mode): the guessing check, one
        # hash and comparison, the failure counted. Its time tells nothing.
        keys = _guess_keys(request, workspace_id)
        for key in keys:
            if (wait := shared_counts.over(key, GUESSES_PER_MINUTE, 60)) is not None:
                raise exceptions.Throttled(
                    wait=wait, detail="Too many wrong secrets for this workspace; wait a minute."
                )
        if secret_matches(_bearer(request), stored):
            return (None, "workspace-secret")
        for key in keys:
            shared_counts.hit(key, GUESSES_PER_MINUTE, 60)
        raise exceptions.AuthenticationFailed(REFUSED)

    def authenticate_header(self, request):
        return 'Bearer realm="linkdo"'
