"""Change notifications: every transaction that takes a workspace's next change version also
sends a PostgreSQL NOTIFY on CHANNEL, delivered at its commit (a rolled-back change sends none).

The payload is `<key>:<version>`: the key is the first 16 hex digits of the SHA-256 of the
workspace id (change_key), never the id, computed by the same statement that bumps the version,
so every path (REST, sync, jobs, import, arrange) notifies without code of its own. The stream
process (workspaces.events) listens on one connection and pokes the workspace's open streams.
"""

import hashlib

from django.conf import settings

CHANNEL = "linkdo_changes"


def notify_sql(workspace_id: str, version: str) -> str:
    """The SQL expression that notifies a change of workspace `workspace_id` (an SQL expression)
    to `version` (one too); it returns void, so it goes where a row is produced once."""
    key = f"left(encode(sha256(convert_to({workspace_id}, 'UTF8')), 'hex'), 16)"
    return f"pg_notify('{CHANNEL}', {key} || ':' || {version})"


def on_citus() -> bool:
    """Whether the database is a Citus coordinator (LINKDO_CITUS: a setting, not a query, so that
    no request pays a statement to learn it). There, a statement on a distributed table runs on a
    worker: Citus refuses pg_notify (volatile) in its RETURNING, and a NOTIFY sent on a worker would
    never reach the stream process's LISTEN on the coordinator."""
    return settings.LINKDO_CITUS


class VersionStatement:
    """A statement that gives one workspace a new change version and returns it first, with a
    `{notify}` slot in its RETURNING: notify_sql on plain PostgreSQL; on Citus NULL, and the NOTIFY
    follows from the coordinator (one statement more)."""

    def __init__(self, template: str, workspace_id: str, version: str):
        self.plain = template.format(notify=notify_sql(workspace_id, version))
        self.citus = template.format(notify="NULL")

    def run(self, cursor, params, workspace_id: str) -> int:
        """Run it in the caller's transaction; the workspace's new change version."""
        cursor.execute(self.citus if on_citus() else self.plain, params)
        version = cursor.fetchone()[0]
        if on_citus():
            cursor.execute(
                "SELECT pg_notify(%s, %s)", [CHANNEL, f"{change_key(workspace_id)}:{version}"]
            )
        return version


def change_key(workspace_id: str) -> str:
    """The key a notification carries for a workspace (notify_sql computes the same in SQL)."""
    return hashlib.sha256(workspace_id.encode()).hexdigest()[:16]


def parse_payload(payload: str) -> tuple[str, int] | None:
    """(key, version) of a notification, or None for a payload that is not ours."""
    key, _, version = payload.partition(":")
    if len(key) != 16 or not version.isdigit():
        return None
    return key, int(version)
