"""The deployment files cannot be run here (no Docker engine): check that they parse and agree with
the code: env names, ports, probes, images, commands. And run the image's command directly."""

import contextlib
import gc
import os
import re
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from django.conf import settings

from tests.helpers import database_url

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
POSTGRES_IMAGE_ENV = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "PGDATA"}


def load_all(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def known_env_names() -> set[str]:
    """Every environment variable LinkDo's settings and gunicorn config read."""
    sources = [*(ROOT / "linkdo" / "settings").glob("*.py"), ROOT / "deploy" / "gunicorn.conf.py"]
    pattern = re.compile(r"""(?:env_\w+|environ\.get)\(\s*["']([A-Z_]+)["']""")
    return {name for path in sources for name in pattern.findall(path.read_text())}


def k8s_docs() -> dict[str, dict]:
    docs = [
        d for path in K8S.glob("*.yaml") for d in load_all(path) if d["kind"] != "Kustomization"
    ]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def test_every_yaml_file_parses():
    files = [
        *K8S.glob("*.yaml"),
        ROOT / "docker-compose.yml",
        *(ROOT / ".github" / "workflows").glob("*.yml"),
    ]
    assert len(files) >= 8
    for path in files:
        assert load_all(path), path


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_env_names_are_ones_the_settings_read():
    known = known_env_names()
    assert {"DATABASE_URL", "SECRET_KEY", "DJANGO_DEBUG", "PORT", "WEB_CONCURRENCY"} <= known
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for service in ("api", "migrate", "worker"):
        assert set(compose["services"][service]["environment"]) <= known, service
    # The API and the worker share the folder their counters are summed from.
    shared = {v for s in ("api", "worker") for v in compose["services"][s]["volumes"]}
    assert shared == {"metrics:/app/metrics"}
    assert compose["services"]["api"]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/app/metrics"
    assert set(compose["services"]["db"]["environment"]) <= POSTGRES_IMAGE_ENV
    docs = k8s_docs()
    secret_keys = set(docs["Secret/linkdo-secrets"]["stringData"])
    assert secret_keys <= known | POSTGRES_IMAGE_ENV
    pod = docs["Deployment/linkdo-api"]["spec"]["template"]["spec"]
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert {e["name"] for e in container["env"]} <= known
        assert container["envFrom"][0]["secretRef"]["name"] == "linkdo-secrets"


def test_deployments_keep_the_rate_limits_a_restore_fits_in():
    """The k8s API once set 600/min per workspace, the limit under which the PWA's backup
    restore lost half a workspace (issue 30): no deployment file may set a rate below the
    defaults, which sit above the largest honest journey."""
    docs = k8s_docs()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    envs = [compose["services"][name].get("environment", {}) for name in compose["services"]]
    for key, doc in docs.items():
        if key.startswith("Deployment/"):
            pod = doc["spec"]["template"]["spec"]
            for container in [*pod.get("initContainers", []), *pod["containers"]]:
                envs.append({e["name"]: e.get("value") for e in container.get("env", [])})
    for env in envs:
        for name in ("LINKDO_THROTTLE_WORKSPACE", "LINKDO_THROTTLE_IP"):
            assert name not in env, f"{name}={env[name]} overrides the default"


def test_ports_probes_and_services_agree():
    gunicorn_port = re.search(
        r'env_int\("PORT", (\d+)', (ROOT / "deploy/gunicorn.conf.py").read_text()
    ).group(1)
    assert gunicorn_port == "8000" == str(settings.PORT)
    docs = k8s_docs()
    pod = docs["Deployment/linkdo-api"]["spec"]["template"]
    front, api = pod["spec"]["containers"]
    # The pod's door is the front (8000), passing requests on to gunicorn on PORT (8080).
    env = {e["name"]: e.get("value") for e in api["env"]}
    assert front["command"] == [
        "python", "-m", "workspaces.events", "--port", "8000", "--upstream", f"127.0.0.1:{env['PORT']}"
    ]  # fmt: skip
    assert front["ports"][0]["containerPort"] == 8000
    assert front["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert api["ports"][0]["containerPort"] == int(env["PORT"]) == 8080
    for probe in ("readinessProbe", "livenessProbe"):
        assert api[probe]["httpGet"] == {"path": "/health", "port": 8080}
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == env["PORT"]
    assert env["LINKDO_NUM_PROXIES"] == "2"  # Traefik and the front
    assert set(api["resources"]) == set(front["resources"]) == {"requests", "limits"}
    service = docs["Service/linkdo-api"]["spec"]
    assert service["ports"][0]["targetPort"] == 8000
    backend = docs["Ingress/linkdo-api"]["spec"]["rules"][0]["http"]["paths"][0]["backend"][
        "service"
    ]
    assert backend == {"name": "linkdo-api", "port": {"number": service["ports"][0]["port"]}}
    annotations = docs["Ingress/linkdo-api"]["metadata"]["annotations"]
    assert "cert-manager.io/cluster-issuer" in annotations
    assert docs["Ingress/linkdo-api"]["spec"]["ingressClassName"] == "traefik"
    secret_url = docs["Secret/linkdo-secrets"]["stringData"]["DATABASE_URL"]
    assert "@linkdo-postgres:5432/" in secret_url and "Service/linkdo-postgres" in docs
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "ports" not in compose["services"]["api"]  # reached through the front only
    assert compose["services"]["api"]["expose"] == ["8000"]
    assert compose["services"]["events"]["ports"] == ["8000:8001"]
    assert compose["services"]["api"]["environment"]["LINKDO_NUM_PROXIES"] == "1"


def test_the_stream_process_is_deployed_beside_the_api():
    """compose and Kubernetes run workspaces.events from the same image, on the port its command
    names, with settings it reads; the ingress routes /api/events to it without the in-flight
    limit (an EventSource sends no X-Workspace-ID). In compose it is the front door on 8000, as
    under `make run`, passing every other request to the API."""
    known = known_env_names()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    events = compose["services"]["events"]
    assert events["command"] == [
        "python", "-m", "workspaces.events", "--port", "8001", "--upstream", "api:8000"
    ]  # fmt: skip
    assert events["ports"] == ["8000:8001"] and set(events["environment"]) <= known
    assert events["environment"]["LINKDO_EVENTS_URL"] == "http://localhost:8000/api/events"
    assert "8001/health" in " ".join(events["healthcheck"]["test"])
    docs = k8s_docs()
    pod = docs["Deployment/linkdo-events"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "workspaces.events", "--port", "8001"]
    assert container["image"] == docs["Deployment/linkdo-api"]["spec"]["template"]["spec"][
        "containers"][0]["image"]  # fmt: skip
    assert container["ports"][0]["containerPort"] == 8001
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8001}
    assert {e["name"] for e in container["env"]} <= known
    service = docs["Service/linkdo-events"]["spec"]
    assert service["ports"][0]["targetPort"] == 8001
    ingress = docs["Ingress/linkdo-events"]
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    assert path["path"] == "/api/events"
    assert path["backend"]["service"] == {"name": "linkdo-events", "port": {"number": 80}}
    assert "router.middlewares" not in " ".join(ingress["metadata"].get("annotations", {}))
    assert "EXPOSE 8000 8001" in (ROOT / "Dockerfile").read_text()


def test_images_and_migration_commands_agree():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    docs = k8s_docs()
    postgres = docs["StatefulSet/linkdo-postgres"]["spec"]["template"]["spec"]["containers"][0]
    assert compose["services"]["db"]["image"].startswith("pgvector/pgvector:")
    assert postgres["image"] == compose["services"]["db"]["image"]
    assert docs["StatefulSet/linkdo-postgres"]["spec"]["volumeClaimTemplates"]
    pod = docs["Deployment/linkdo-api"]["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["image"] == pod["containers"][0]["image"]
    migrate = ["python", "manage.py", "migrate", "--noinput"]
    assert pod["initContainers"][0]["command"] == migrate
    assert compose["services"]["migrate"]["command"] == migrate
    assert "manage.py migrate --noinput" in (ROOT / "Makefile").read_text()


def test_dockerfile_is_slim_non_root_and_runs_gunicorn_with_its_config():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER linkdo$", dockerfile, re.M)
    assert "EXPOSE 8000" in dockerfile
    cmd = yaml.safe_load(re.search(r"^CMD (.+)$", dockerfile, re.M).group(1))
    assert cmd == ["python", "-m", "linkdo.web"]
    launcher = (ROOT / "linkdo" / "web.py").read_text()
    assert '"linkdo.wsgi", "--config", "deploy/gunicorn.conf.py"' in launcher
    assert (ROOT / "deploy" / "gunicorn.conf.py").exists()
    # The dependency layer comes before the code, so code changes reuse it.
    assert dockerfile.index("COPY pyproject.toml") < dockerfile.index("COPY . .")
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "make test" in steps and any(s.startswith("docker build") for s in steps)


@pytest.mark.slow
@pytest.mark.django_db
def test_the_image_command_serves_health_when_run_directly():
    """The Dockerfile's CMD, run here as the container would (DEBUG off, DATABASE_URL set)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = yaml.safe_load(re.search(r"^CMD (.+)$", dockerfile, re.M).group(1))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": database_url(),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    assert cmd[0] == "python"
    server = subprocess.Popen(
        [sys.executable, *cmd[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/health", timeout=2
                ) as response:
                    assert response.status == 200
                    assert b'"status": "ok"' in response.read()
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()[-2000:]
                assert time.monotonic() < deadline, (
                    "gunicorn did not answer within 30 s: " + shlex.join(cmd)
                )
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_make_run_collects_static_files_before_serving():
    """With DJANGO_DEBUG=false WhiteNoise serves the admin's CSS and Swagger UI's scripts from
    STATIC_ROOT only: `make run` must fill it, as the image's build does."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("manage.py collectstatic --noinput") < recipe.index("-m linkdo.serve")


def _serve(port: int) -> subprocess.Popen:
    """`make run`'s last step (linkdo.serve) against the test database, DEBUG off."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": database_url(),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "LINKDO_PRELOAD_KOREAN": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "linkdo.serve"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def _wait_for(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.3)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def _served():
    """`make run`'s supervisor on a free port, once the web server answers; killed if left over."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = _serve(port)
    try:
        _wait_for(lambda: _healthy(port), 40, "the web server did not answer within 40 s")
        yield serve, port
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)  # the supervisor and the children it started


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_make_run_serves_and_works_and_stops_both_on_sigterm():
    with _served() as (serve, port):
        assert len(_children(serve.pid)) == 3  # gunicorn's master, the stream process, the worker
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=40) == 0
        assert not _healthy(port)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_make_run_metrics_count_the_workers_provider_calls():
    """Issue 30, item 2: the worker's provider calls were missing from /metrics."""
    import json

    with _served() as (serve, port):
        base = f"http://127.0.0.1:{port}"
        tasks = [{"id": f"m{i}", "title": f"metric task {i}"} for i in range(40)]
        request = urllib.request.Request(
            base + "/api/tasks/sync", method="POST",
            data=json.dumps({"cursor": None, "tasks": tasks}).encode(),
            headers={"X-Workspace-ID": "metrics", "Content-Type": "application/json",
                     "X-Forwarded-Proto": "https"},  # DEBUG off: plain HTTP would be redirected
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200  # stored pending: only the worker embeds them

        def embedded_by_the_worker() -> bool:
            scrape = urllib.request.Request(
                base + "/metrics", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(scrape, timeout=10) as response:
                text = response.read().decode()
            return 'linkdo_provider_items_total{kind="embed",provider="local"} 40.0' in text

        _wait_for(embedded_by_the_worker, 60, "the worker's embedding calls never reached /metrics")
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=40) == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_make_run_starts_a_dead_worker_again_and_keeps_serving():
    with _served() as (serve, port):
        web, events, worker = _children(serve.pid)
        os.kill(worker, signal.SIGKILL)
        _wait_for(
            lambda: len(_children(serve.pid)) == 3 and worker not in _children(serve.pid),
            20,
            "the worker was not started again",
        )
        assert serve.poll() is None and _healthy(port)
        assert _children(serve.pid)[:2] == [web, events]  # the others were left alone
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=40) == 0
        assert "the worker process exited (status -9); starting it again in 1 s" in (
            serve.stdout.read()
        )


def test_gunicorns_master_freezes_what_it_loaded_before_forking(monkeypatch, tmp_path):
    """when_ready moves the loaded objects out of the collector's full passes (linkdo.heap)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # else the config makes one
    monkeypatch.setenv("LINKDO_PRELOAD_KOREAN", "false")
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    tracked = len(gc.get_objects())
    try:
        config["when_ready"](None)
        assert gc.get_freeze_count() > tracked // 2
        assert len(gc.get_objects()) < tracked // 10
    finally:
        gc.unfreeze()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_make_run_serves_the_event_stream_on_the_apis_own_origin():
    """The ticket's URL is the API's host and port; the stream there hears a change made there."""
    import json

    from tests.workspaces.test_events_stream import Reader

    def post(base: str, path: str, body=None) -> tuple[int, dict]:
        request = urllib.request.Request(
            base + path, method="POST", data=json.dumps(body or {}).encode(),
            headers={"X-Workspace-ID": "run-events", "Content-Type": "application/json",
                     "X-Forwarded-Proto": "https"},  # DEBUG off: plain HTTP would be redirected
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())

    with _served() as (serve, port):
        base = f"http://127.0.0.1:{port}"
        status, ticket = post(base, "/api/events/ticket")
        assert status == 201
        url = urlparse(ticket["url"])
        assert (url.hostname, url.port, url.path) == ("127.0.0.1", port, "/api/events")
        stream = Reader(base, url.query)
        assert stream.status == 200
        assert post(base, "/api/tasks", {"id": "t1", "title": "Heard live"})[0] == 201
        assert stream.events(5.0, first=True)[0]["event"] == "changed"
        stream.close()
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=40) == 0
