"""Each validation rule: a 4xx whose body says what to fix, and nothing stored."""

import pytest

from graph.models import Edge
from tasks.models import Task
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

VALID = {"id": "v", "title": "Valid"}

BAD_CREATES = [
    ({"id": "v"}, "title", "required"),
    ({"id": "v", "title": "   "}, "title", "blank"),
    ({"id": "v", "title": "x" * 501}, "title", "500"),
    ({"id": "v", "title": 12}, "title", "string"),
    ({"id": "v", "title": None}, "title", "null"),
    ({"id": "v", "title": "a\x00b"}, "title", "control characters"),
    ({**VALID, "description": "a\x00b"}, "description", "Null characters"),
    ({"id": "v", "title": "two\nlines"}, "title", "control characters"),
    ({"title": "no id"}, "id", "required"),
    ({"id": "", "title": "T"}, "id", "blank"),
    ({"id": "a/b", "title": "T"}, "id", "'/'"),
    ({"id": "sync", "title": "T"}, "id", "reserved"),
    ({"id": "i" * 129, "title": "T"}, "id", "128"),
    ({"id": 5, "title": "T"}, "id", "string"),
    ({**VALID, "priority": "urgent"}, "priority", "not a valid choice"),
    ({**VALID, "status": "doing"}, "status", "not a valid choice"),
    ({**VALID, "description": "d" * 20_001}, "description", "20000"),
    ({**VALID, "category": ""}, "category", "blank"),
    ({**VALID, "tags": "a,b"}, "tags", "list"),
    ({**VALID, "tags": [f"t{i}" for i in range(51)]}, "tags", "50"),
    ({**VALID, "tags": ["x" * 51]}, "tags", "50"),
    ({**VALID, "tags": [1, 2]}, "tags", "string"),
    ({**VALID, "due_date": "next friday"}, "due_date", "YYYY-MM-DD"),
    ({**VALID, "due_date": "2026-02-30"}, "due_date", "YYYY-MM-DD"),
    ({**VALID, "due_date": 20261224}, "due_date", "YYYY-MM-DD"),
    ({**VALID, "x": "12"}, "x", "number"),
    ({**VALID, "x": True}, "x", "number"),
    ({**VALID, "y": 1e12}, "y", "less than or equal"),
    ({**VALID, "colour": "red"}, "non_field_errors", "Unknown field(s): colour"),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_CREATES)
def test_bad_create_is_400_with_reason_and_stores_nothing(client_a, body, field, message):
    response = client_a.post("/api/tasks", body)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert message in str(errors[field]), errors
    assert Task.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"id": "v", "title": NaN}', b"[1, 2]", b'"text"', b"", b"\xff\xfe"],
    ids=["broken", "nan", "list", "string", "empty", "not-utf8"],
)
def test_malformed_json_body_is_400(client_a, raw):
    response = client_a.generic("POST", "/api/tasks", raw)
    assert response.status_code == 400, response.content
    assert response.json()
    assert Task.objects.count() == 0


@pytest.mark.parametrize("field", ["title", "description", "category", "id"])
def test_lone_surrogates_are_400(client_a, field):
    body = {**VALID, field: "x\\ud800y"}
    raw = "{" + ", ".join(f'"{k}": "{v}"' for k, v in body.items()) + "}"
    response = client_a.generic("POST", "/api/tasks", raw.encode())
    assert response.status_code == 400, response.content
    assert "Surrogate" in str(response.json()[field])
    assert Task.objects.count() == 0


def test_non_json_content_type_is_415(client_a):
    response = client_a.generic("POST", "/api/tasks", b"id=v", content_type="text/plain")
    assert response.status_code == 415
    assert "detail" in response.json()
    assert Task.objects.count() == 0


def test_body_over_the_limit_is_413_before_parsing(client_a, settings):
    settings.LINKDO_MAX_BODY_BYTES = 1024
    response = client_a.post("/api/tasks", {"id": "big", "title": "T", "description": "d" * 2000})
    assert response.status_code == 413
    assert "limit is 1024 bytes" in response.json()["detail"]
    assert Task.objects.count() == 0


def test_bad_patch_changes_nothing(client_a, ws_a):
    task = TaskFactory(workspace=ws_a, client_id="p", title="Keep", tags=["a"])
    response = client_a.patch("/api/tasks/p", {"title": "New", "priority": "urgent"})
    assert response.status_code == 400
    assert "priority" in response.json()
    task.refresh_from_db()
    assert (task.title, task.priority, task.tags) == ("Keep", "medium", ["a"])


def test_patch_to_blank_title_is_refused(client_a, ws_a):
    TaskFactory(workspace=ws_a, client_id="p", title="Keep")
    response = client_a.patch("/api/tasks/p", {"title": ""})
    assert response.status_code == 400
    assert Task.objects.get(client_id="p").title == "Keep"


def test_database_constraints_hold_without_the_api(ws_a):
    """What the database enforces by itself, for writers that bypass the serializers."""
    from django.db import IntegrityError, transaction

    for fields in [
        {"title": "  "},
        {"priority": "urgent"},
        {"status": "doing"},
        {"client_id": "a/b"},
        {"x": float("nan")},
        {"y": float("inf")},
    ]:
        with pytest.raises(IntegrityError), transaction.atomic():
            TaskFactory(workspace=ws_a, **fields)
    assert Task.objects.count() == 0
    assert Edge.objects.count() == 0
