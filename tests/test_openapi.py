"""The OpenAPI schema: valid, complete (header, bodies, errors), served with offline docs, and
true: schemathesis calls every operation in-process and checks each answer against it."""

import itertools
import json
import re

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import TaskFactory

# A small budget per operation in `make test`; `make fuzz` runs 200 per operation on a live server.
EXAMPLES_PER_OPERATION = 12


def test_schema_generates_without_warnings_and_validates(tmp_path):
    target = tmp_path / "schema.json"
    call_command(
        "spectacular", validate=True, fail_on_warn=True, file=str(target), format="openapi-json"
    )
    schema = json.loads(target.read_text())
    assert schema["openapi"].startswith("3.")


@pytest.fixture
def openapi(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_api_operation_declares_the_header_and_its_errors(openapi):
    operations = [
        (path, method, op)
        for path, item in openapi["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) >= 17
    for path, method, op in operations:
        headers = {p["name"]: p for p in op["parameters"] if p["in"] == "header"}
        assert headers["X-Workspace-ID"]["required"] is True, (path, method)
        assert {"400", "429", "503"} <= set(op["responses"]), (path, method)
        assert op["responses"]["429"]["headers"]["Retry-After"], (path, method)
        if method in ("post", "put", "patch"):
            assert {"413", "415"} <= set(op["responses"]), (path, method)
        if "{" in path:
            assert "404" in op["responses"], (path, method)
        if method == "get":  # found by make fuzz: gunicorn's own refusal of a long URL
            assert "414" in op["responses"], (path, method)
        success = [code for code in op["responses"] if code.startswith("2")]
        assert success and all("content" in op["responses"][c] for c in success), (path, method)


def test_schema_describes_request_and_response_bodies(openapi):
    components = openapi["components"]["schemas"]
    assert {"Task", "ScoredTask", "TaskWriteRequest", "Edge", "Graph", "SyncRequestRequest"} <= set(
        components
    ) or {"Task", "ScoredTask", "Edge", "Graph"} <= set(components)
    task = components["Task"]
    assert set(task["required"]) >= {"id", "title", "x", "y", "embedding_status"}
    create = openapi["paths"]["/api/tasks/"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    write = components[body.rsplit("/", 1)[1]]
    assert write["properties"]["title"]["maxLength"] == 500
    assert set(write["required"]) == {"id", "title"}


def test_swagger_ui_loads_with_no_internet(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    # Every asset is served by LinkDo itself: no CDN, nothing fetched from the internet.
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()
    schema_url = re.search(r'url: "([^"]+)"', page).group(1)
    assert schema_url == "/api/schema"
    assert client.get(schema_url).status_code == 200


@pytest.fixture
def seeded(db):
    """Two tasks with embeddings, so similar/search/suggested-edges have something to rank."""
    TaskFactory(
        workspace__id="fuzz", client_id="t1", title="Known task", embedding=[1.0] + [0.0] * 767
    )
    TaskFactory(
        workspace__id="fuzz", client_id="t2", title="Other", embedding=[0.0, 1.0] + [0.0] * 766
    )


@pytest.fixture
def wsgi_app(db):
    """The WSGI app inside the test's transaction: like Django's test client, keep the request
    signals from closing the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.slow
def test_every_operation_answers_as_its_schema_says(seeded, wsgi_app):
    """Generated requests (valid and invalid) on every operation: no 5xx, and every status,
    header, content type and body conforms to the schema."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation, mode in itertools.product(operations, GenerationMode):
        try:
            calls = _fuzz(operation, mode)
        except Unsatisfiable:
            # Nothing in this operation can be made invalid besides the fixed headers.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        assert calls, (operation.label, mode)


def _fuzz(operation, mode) -> int:
    """Run one operation's generated cases; the number of calls made."""
    calls = []
    # No caller key: a generated X-Gemini-API-Key would send requests to the real Gemini.
    headers = {"X-Workspace-ID": "fuzz", "X-Gemini-API-Key": ""}

    @given(case=operation.as_strategy(mode, headers=headers))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        # Cross-field rules (an edge's two ends differ, its tasks exist) cannot be said in
        # JSON Schema, so a schema-valid request may still get a 4xx with a reason.
        # The in-process WSGI transport does not decode gzip (a live server's client does).
        case.call_and_validate(
            excluded_checks=[positive_data_acceptance], headers={"Accept-Encoding": "identity"}
        )
        calls.append(case)

    check()
    return len(calls)


def test_every_api_operation_declares_the_workspace_secret(client):
    """Issue 32: the bearer scheme on every /api/ operation (optional until a workspace is
    claimed), and the 401 it answers."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["components"]["securitySchemes"]["workspaceSecret"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["workspaceSecret"]["description"],
    }
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            assert {"workspaceSecret": []} in operation["security"], (path, method)
            assert "401" in operation["responses"], (path, method)
