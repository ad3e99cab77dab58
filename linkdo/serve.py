"""`make run`: the web server (gunicorn), the stream process (workspaces.events) and the job
worker (`manage.py jobs_worker`) as one command. The stream process listens on PORT: it serves
GET /api/events itself and passes every other request to gunicorn on a loopback port, so a
browser meets the API and its live changes on one origin. Ctrl-C or SIGTERM stops both (the worker finishes or gives back its running job). A child
that dies is started again after a wait (1, 2, 4 ... seconds, at most MAX_BACKOFF_S; back to 1 s
after it ran for HEALTHY_RUN_S), with a line saying so: a database restart or an OOM kill of one
never takes the other down, and nothing has to be run by hand afterwards.

Both write their Prometheus counters into one PROMETHEUS_MULTIPROC_DIR (made here unless set), so
the web server's /metrics sums the worker's provider calls with its own.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_S = 30
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
HEALTHY_RUN_S = 60.0


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _commands(port: int, web_port: int) -> dict[str, tuple[list[str], dict]]:
    """Each child's command and the environment it adds."""
    events = [sys.executable, "-m", "workspaces.events", "--port", str(port)]
    # The front is one proxy more before gunicorn: it appends the client to X-Forwarded-For.
    proxies = {"LINKDO_NUM_PROXIES": str(int(os.environ.get("LINKDO_NUM_PROXIES") or 0) + 1)}
    return {
        # gunicorn reads GUNICORN_CMD_ARGS after its configuration file: the bind here wins.
        "web": ([sys.executable, "-m", "linkdo.web"],
                {"GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{web_port}", **proxies}),
        "events": ([*events, "--upstream", f"127.0.0.1:{web_port}"], proxies),
        "worker": ([sys.executable, "manage.py", "jobs_worker"], {}),
    }  # fmt: skip


@dataclass
class Child:
    """One supervised process: started again with backoff whenever it exits."""

    name: str
    command: list[str]
    env: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF_S
    restart_at: float | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env={**os.environ, **self.env})
        self.started_at = time.monotonic()
        self.restart_at = None

    def check(self, now: float) -> None:
        """Notice an exit (schedule the restart) or a restart that is due."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts.append(now)
                self.start()
            return
        if self.process is None or self.process.poll() is None:
            return
        if now - self.started_at >= HEALTHY_RUN_S:
            self.backoff = FIRST_BACKOFF_S
        print(
            f"linkdo: the {self.name} process exited (status {self.process.returncode}); "
            f"starting it again in {self.backoff:.0f} s.",
            file=sys.stderr,
            flush=True,
        )
        self.restart_at = now + self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF_S)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()


def main() -> int:
    stop_requested = False

    def request_stop(signum, frame):
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    from linkdo.web import check_environment

    if problem := check_environment():  # a setting no restart can mend: said once, in one line
        print(f"linkdo: {problem}", file=sys.stderr)
        return 1
    own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="linkdo-metrics-")
    from linkdo.settings.env import env_int

    port = env_int("PORT", 8000, minimum=1, maximum=65535)
    commands = _commands(port, _free_loopback_port())
    children = [Child(name, command, env) for name, (command, env) in commands.items()]
    for child in children:
        child.start()
    while not stop_requested:
        now = time.monotonic()
        for child in children:
            child.check(now)
        time.sleep(0.2)
    for child in children:
        child.stop()
    for child in children:
        child.wait()
    if own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
