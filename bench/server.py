"""Start LinkDo under gunicorn on a free loopback port for `make fuzz` and `make load`."""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Production settings on loopback: no debug pages, no throttling (the runner is the only client),
# and a Gemini address that refuses at once, so a generated caller key never leaves the machine.
SERVER_ENV = {
    "DJANGO_DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "LINKDO_THROTTLE_WORKSPACE": "off",
    "LINKDO_THROTTLE_IP": "off",
    "LINKDO_CONCURRENCY_WORKSPACE": "off",
    "LINKDO_CONCURRENCY_IP": "off",
    "GEMINI_BASE_URL": "http://127.0.0.1:9",
    "LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], port: int):
    """Start a server process on `port` with SERVER_ENV and `env`; yield (base_url, process)
    once /health answers 200; stop it on exit."""
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **SERVER_ENV, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def gunicorn(*, workers: int = 2, **env: str):
    """Yield (base_url, process): LinkDo under gunicorn with its configuration."""
    port = free_port()
    binary = str(Path(sys.executable).parent / "gunicorn")
    command = [binary, "linkdo.wsgi", "--config", "deploy/gunicorn.conf.py"]
    return _server(command, {**env, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}, port)


@contextlib.contextmanager
def job_workers(count: int = 1, **env: str):
    """Yield `count` job worker processes (`manage.py jobs_worker`); stopped on exit."""
    full_env = {**os.environ, **SERVER_ENV, **env}
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "jobs_worker"],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def asgi_server(*, workers: int = 2, **env: str):
    """Yield (base_url, process): the whole app under uvicorn (Django's ASGI handler)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "django.core.asgi:get_asgi_application",
               "--factory", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
    return _server(command, env, port)


def events_server(*, upstream: str | None = None, **env: str):
    """Yield (base_url, process) of the stream process (workspaces.events)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "workspaces.events",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if upstream:
        command += ["--upstream", upstream]
    return _server(command, env, port)


def _wait_healthy(base: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError("the server exited:\n" + process.stderr.read()[-3000:])
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer /health within {timeout_s:.0f} s")
        time.sleep(0.3)


def worker_pids(process: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
