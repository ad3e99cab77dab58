"""Tickets that open a workspace's event stream (GET /api/events?ticket=...).

A browser's EventSource cannot send headers, so the client first asks POST /api/events/ticket
(with its workspace id and secret) and opens the stream with the ticket in the URL. A ticket is
encrypted and signed with a key derived from SECRET_KEY (Fernet: AES-128-CBC + HMAC-SHA256, with
its issue time), so the workspace id it carries never shows in a URL or a log line, and it opens a
stream only within LINKDO_EVENTS_TICKET_SECONDS of its issue.
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

_PURPOSE = b"linkdo.events.ticket"


def _fernet() -> Fernet:
    key = hashlib.sha256(_PURPOSE + b"\0" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def ticket_issue(*, workspace_id: str) -> str:
    """A ticket for one workspace's stream."""
    return _fernet().encrypt(json.dumps({"w": workspace_id}).encode()).decode()


def ticket_workspace(ticket: str | None) -> str | None:
    """The workspace id of a ticket that is genuine and not expired, or None."""
    if not ticket or len(ticket) > 1000:
        return None
    try:
        raw = _fernet().decrypt(ticket.encode(), ttl=settings.LINKDO_EVENTS_TICKET_SECONDS)
        workspace_id = json.loads(raw)["w"]
    except (InvalidToken, ValueError, KeyError, TypeError):
        return None
    return workspace_id if isinstance(workspace_id, str) else None
