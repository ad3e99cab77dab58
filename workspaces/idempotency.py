"""Idempotency-Key: a client that retries a request whose answer it lost (an offline-first client
does) gets the first answer again instead of a second effect. Keys are the workspace's own and
kept IDEMPOTENCY_HOURS; the same key with another body is a 422, and a retry that arrives while
the first request is still being served is a 409 with Retry-After.

Claim first, then work: the claim is a row inserted in a transaction of its own (the unique key
makes two concurrent requests with one key one claim), the answer is stored once the work is done,
and a request that failed releases its claim, so that its retry is served afresh.
"""

import hashlib
import json
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from linkdo.errors import ApplicationError, ConflictError
from workspaces.models import IdempotentRequest, Workspace

HEADER = "Idempotency-Key"
IDEMPOTENCY_HOURS = 24
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class IdempotencyKeyReused(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


def idempotency_fingerprint(method: str, path: str, data) -> str:
    text = json.dumps([method, path.rstrip("/"), data], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def idempotency_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _KEY.fullmatch(raw):
        raise ApplicationError(
            f"The {HEADER} header must be 1 to 255 visible ASCII characters (a UUID is a good key)."
        )
    return raw


def idempotency_claim(
    *, workspace: Workspace, key: str, fingerprint: str
) -> tuple[int, object] | None:
    """Claim the key for this request: None when this request is the first (serve it, then
    idempotency_store or idempotency_release), else the stored (status, body) to answer again."""
    since = timezone.now() - timedelta(hours=IDEMPOTENCY_HOURS)
    IdempotentRequest.objects.filter(workspace=workspace, key=key, created_at__lt=since).delete()
    try:
        with transaction.atomic():
            IdempotentRequest.objects.create(workspace=workspace, key=key, fingerprint=fingerprint)
        return None
    except IntegrityError:
        pass
    stored = IdempotentRequest.objects.filter(workspace=workspace, key=key).first()
    if stored is None:  # released meanwhile: claim again
        return idempotency_claim(workspace=workspace, key=key, fingerprint=fingerprint)
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"This {HEADER} was used in the last {IDEMPOTENCY_HOURS} hours for a different "
            "request; use a new key for a new request."
        )
    if stored.status is None:
        raise ConflictError(
            f"A request with this {HEADER} is still being served; retry in a moment."
        )
    return stored.status, stored.body


def idempotency_store(*, workspace: Workspace, key: str, status_code: int, body) -> None:
    IdempotentRequest.objects.filter(workspace=workspace, key=key).update(
        status=status_code, body=body
    )


def idempotency_release(*, workspace: Workspace, key: str) -> None:
    IdempotentRequest.objects.filter(workspace=workspace, key=key, status__isnull=True).delete()


def idempotency_forget(*, older_than_hours: int = IDEMPOTENCY_HOURS) -> int:
    """Delete answers older than the retention (the daily purge job)."""
    since = timezone.now() - timedelta(hours=older_than_hours)
    return IdempotentRequest.objects.filter(created_at__lt=since).delete()[0]
