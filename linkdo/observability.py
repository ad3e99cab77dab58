"""Structured logs and Prometheus metrics: one line per request and per provider call.

Lines are logfmt (`event key=value ...`); values with spaces, quotes or control characters are
JSON-quoted, so a path or an error text cannot forge a second line or a field.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger("linkdo.requests")
provider_logger = logging.getLogger("linkdo.ai")

_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+-]*")
_REQUEST_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

PROVIDER_CALLS = Counter(
    "linkdo_provider_calls_total",
    "Calls to the AI provider by kind (embed, tags) and outcome (ok or the failure).",
    ["provider", "kind", "outcome"],
)
PROVIDER_ITEMS = Counter(
    "linkdo_provider_items_total", "Texts sent to the AI provider.", ["provider", "kind"]
)
PROVIDER_SECONDS = Histogram(
    "linkdo_provider_call_seconds", "Duration of AI provider calls.", ["provider", "kind"]
)
SYNC_ITEMS = Counter(
    "linkdo_sync_items_total", "Pushed sync items by kind and result status.", ["kind", "status"]
)


def workspace_ref(workspace_id: str) -> str:
    """What logs, metrics and the admin's non-admin staff see of a workspace id: a keyed hash
    (HMAC-SHA256 with SECRET_KEY, 12 hex characters). The id is a key to the workspace's data;
    `manage.py workspace_ref ID` prints the reference an operator searches the logs for."""
    digest = hmac.new(settings.SECRET_KEY.encode(), workspace_id.encode(), hashlib.sha256)
    return digest.hexdigest()[:12]


# A workspace id as libraries print a job's arguments: procrastinate's "Starting job
# flows.jobs.embed_workspace[23](attempt=0, workspace_id='alpha')" and its dict-shaped extras.
_WORKSPACE_ARGUMENT = re.compile(r"""(workspace_id['"]?\s*[:=]\s*)(['"])(.*?)\2""")


class WorkspaceIdFilter(logging.Filter):
    """Puts the keyed reference (workspace_ref) in place of a workspace id that a library's log
    line carries, so no line of any logger names a workspace (the id is the key to its data)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "workspace_id" in message:
            record.msg = _WORKSPACE_ARGUMENT.sub(
                lambda m: f"{m.group(1)}{m.group(2)}ref:{workspace_ref(m.group(3))}{m.group(2)}",
                message,
            )
            record.args = None
        return True


def logfmt(event: str, **fields) -> str:
    parts = [event]
    for key, value in fields.items():
        text = "" if value is None else str(value)
        if not text or not _PLAIN.fullmatch(text):
            text = json.dumps(text)  # quotes, backslashes, newlines and control characters escaped
        parts.append(f"{key}={text}")
    return " ".join(parts)


def record_provider_call(provider: str, kind: str, items: int, started: float, outcome: str):
    """Log and count one provider call; `outcome` is "ok" or what went wrong (never a key)."""
    seconds = time.monotonic() - started
    PROVIDER_CALLS.labels(provider, kind, outcome).inc()
    PROVIDER_ITEMS.labels(provider, kind).inc(items)
    PROVIDER_SECONDS.labels(provider, kind).observe(seconds)
    provider_logger.info(
        logfmt(
            "provider_call",
            provider=provider,
            kind=kind,
            items=items,
            duration_ms=round(seconds * 1000),
            outcome=outcome,
        )
    )


def record_sync_results(results: list[dict]) -> None:
    for result in results:
        SYNC_ITEMS.labels(result["kind"], result["status"]).inc()


class RequestLogMiddleware:
    """One line per request: method, path, status, duration, request id, workspace.

    The request id is the caller's X-Request-ID when it is a plain token (a proxy's), else a new
    one; it is answered in X-Request-ID so a user's report can be found in the logs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        incoming = request.headers.get("X-Request-ID", "")
        # fullmatch: `$` also matches before a trailing newline, which would split the log line
        request.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        workspace_id = getattr(request, "workspace_id", None)
        logger.info(
            logfmt(
                "request",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
                request_id=request.request_id,
                workspace=workspace_ref(workspace_id) if workspace_id is not None else "-",
            )
        )
        return response


def metrics_allowed(request) -> bool:
    """/metrics is for the scraper, not the internet: with LINKDO_METRICS_TOKEN set, a matching
    bearer token; otherwise a request from LINKDO_METRICS_ALLOWED_NETWORKS, by the address the
    throttles take (behind LINKDO_NUM_PROXIES proxies: from X-Forwarded-For)."""
    token = settings.LINKDO_METRICS_TOKEN
    if token:
        return request.headers.get("Authorization", "") == f"Bearer {token}"
    if "X-Forwarded-For" in request.headers and not settings.REST_FRAMEWORK["NUM_PROXIES"]:
        return False  # proxied, and no proxy declared: whoever sent it may be anyone
    from rest_framework.throttling import BaseThrottle

    try:  # the client's address as the throttles take it (LINKDO_NUM_PROXIES proxies trusted)
        address = ipaddress.ip_address(BaseThrottle().get_ident(request))
    except ValueError:
        return False
    return any(address in network for network in settings.LINKDO_METRICS_ALLOWED_NETWORKS)


# Gauges read from the database at scrape time, registered by the apps that own the rows (in
# their AppConfig.ready): name -> (help text, a function returning the value).
DATABASE_GAUGES: dict[str, tuple[str, Callable[[], float]]] = {}


def register_database_gauge(name: str, help_text: str, read: Callable[[], float]) -> None:
    DATABASE_GAUGES[name] = (help_text, read)


class _DatabaseCollector:
    """The registered database gauges, the same for every worker, and whether the database answered.
    A metric family, not a Gauge: under gunicorn a Gauge would also be stored per process and
    reported twice."""

    def collect(self):
        try:
            values = {name: read() for name, (_, read) in DATABASE_GAUGES.items()}
        except DatabaseError:  # the scraper must still get every metric, exactly then
            values = None
        yield GaugeMetricFamily(
            "linkdo_database_up", "1 when the database answered this scrape, else 0.",
            value=0 if values is None else 1,
        )  # fmt: skip
        for name, value in (values or {}).items():
            yield GaugeMetricFamily(name, DATABASE_GAUGES[name][0], value=value)


def _database_gauges() -> bytes:
    registry = CollectorRegistry()
    registry.register(_DatabaseCollector())
    return generate_latest(registry)


def metrics(request):
    """Prometheus text: this process's (or, under gunicorn, every worker's) counters and the
    database gauges."""
    if not metrics_allowed(request):
        return JsonResponse(
            {"detail": "Metrics are only served to the configured scraper."}, status=403
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry) + _database_gauges()
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
