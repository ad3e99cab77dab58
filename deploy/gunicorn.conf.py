"""gunicorn settings for LinkDo; every value can be overridden by the environment named beside it."""

import os
import shutil
import sys
import tempfile

from django.core.exceptions import ImproperlyConfigured

try:  # the same strict parsing as the settings: one line naming the variable, never a traceback
    from linkdo.settings.env import env_bool, env_int  # runs the settings' own checks too

    port = env_int("PORT", 8000, minimum=1, maximum=65535)
    workers = env_int("WEB_CONCURRENCY", 3, minimum=1, maximum=64)
    timeout = env_int("GUNICORN_TIMEOUT", 30, minimum=1)
    preload_korean = env_bool("LINKDO_PRELOAD_KOREAN", True)
except ImproperlyConfigured as error:
    sys.exit(f"linkdo: {error}")

bind = f"0.0.0.0:{port}"
graceful_timeout = 20
# The longest request line gunicorn accepts (its maximum): a search with every filter at its
# longest, percent-encoded, fits.
limit_request_line = 8190
# Load the app (and start or reach the database) once in the master, then fork the workers.
preload_app = True
# LinkDo logs one structured line per request itself (linkdo.observability), with a request id.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus counters from every worker, summed at /metrics (prometheus_client multiprocess mode).
# Set before the app is loaded, so the metrics are created in multiprocess mode.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="linkdo-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def when_ready(server):
    """Build the Korean analyser of POST /api/tasks/parse here, before the workers are forked, so
    they share its ~500 MB model instead of loading one each (5 s on a worker's first Korean
    text). LINKDO_PRELOAD_KOREAN=false skips it (memory-tight deployments that never parse).
    Then freeze what is loaded: the workers' full garbage collections skip it (linkdo.heap)."""
    if preload_korean:
        from tasks.capture_rules import korean_analyzer

        korean_analyzer()
    from linkdo.heap import freeze_loaded_objects

    freeze_loaded_objects()
