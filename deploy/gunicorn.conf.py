"""gunicorn settings for LinkDo; every value can be overridden by the environment named beside it."""

import os
import shutil
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
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
    if os.environ.get("LINKDO_PRELOAD_KOREAN", "true").lower() in ("1", "true", "yes", "on"):
        from tasks.capture import korean_analyzer

        korean_analyzer()
    from linkdo.heap import freeze_loaded_objects

    freeze_loaded_objects()
