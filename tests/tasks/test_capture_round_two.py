"""Capture, second round: recurrence, times, markers, chatter and `matches`, by the rules and by
Gemini's structured answer; and every sentence of the unseen fixture (tests/tasks/capture_unseen.py)."""

from datetime import date

import pytest

from tasks.capture_rules import capture_tasks
from tasks.models import Task
from tests.tasks.capture_unseen import CASES, TODAY

pytestmark = pytest.mark.django_db


def _norm(title: str) -> str:
    return " ".join(title.lower().strip(" .,!?").split())


def _as_expected(found) -> list[tuple]:
    return [
        (_norm(t.title), t.due_date and t.due_date.isoformat(),
         t.due_time and t.due_time.strftime("%H:%M"), t.recurrence, t.priority, tuple(t.tags))
        for t in found
    ]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.text for case in CASES])
def test_every_unseen_sentence_is_read_as_a_careful_reader_would(case):
    found = capture_tasks(case.text, today=date.fromisoformat(TODAY))
    expected = [
        (_norm(t.title), t.due, t.time, t.every,
         None if t.priority is None else t.priority, t.tags)
        for t in case.expected
    ]  # fmt: skip
    assert _as_expected(found) == expected
    for task, want in zip(found, case.expected, strict=True):
        if want.category is not None:
            assert task.category == want.category


def parse(client, text, status=200, **extra):
    body = {"text": text, "today": TODAY, "timezone": "Asia/Seoul", **extra}
    response = client.post("/api/tasks/parse", body)
    assert response.status_code == status, response.json()
    return response.json()


TEXT = "매주 월요일 오후 3시 팀 회의 !! #work @회사"


def test_a_draft_carries_time_recurrence_markers_and_the_spans_read(client_a):
    body = parse(client_a, TEXT)
    assert body["source"] == "rules"
    [draft] = body["tasks"]
    assert draft["title"] == "팀 회의"
    assert draft["due_date"] == "2026-12-14T06:00:00Z"  # Monday 15:00 in Seoul
    assert draft["due_timezone"] == "Asia/Seoul"
    assert draft["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert (draft["priority"], draft["tags"], draft["category"]) == ("critical", ["work"], "회사")
    assert [(m["kind"], m["text"]) for m in draft["matches"]] == [
        ("recurrence", "매주 월요일"), ("time", "오후 3시"), ("priority", "!!"),
        ("tag", "#work"), ("category", "@회사"),
    ]  # fmt: skip
    assert all(TEXT[m["start"] : m["end"]] == m["text"] for m in draft["matches"])


def test_created_from_text_the_task_recurs_at_its_time(client_a):
    body = parse(client_a, TEXT, status=201, create=True)
    [created] = body["tasks"]
    assert created["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert created["due_timezone"] == "Asia/Seoul" and created["priority"] == "critical"
    assert created["due_date"] == "2026-12-14T06:00:00Z"
    task = Task.objects.get(workspace_id="alpha", client_id=created["id"])
    assert (task.category, task.tags) == ("회사", ["work"])
    done = client_a.patch(f"/api/tasks/{created['id']}", {"status": "done"})
    assert done.status_code == 200
    following = Task.objects.filter(workspace_id="alpha", status="todo").get()
    assert following.due_date.isoformat() == "2026-12-21T06:00:00+00:00"


def test_a_marker_free_draft_keeps_the_default_priority_when_created(client_a):
    body = parse(client_a, "내일 치과 예약", status=201, create=True)
    assert body["tasks"][0]["priority"] == "medium"
    assert body["tasks"][0]["recurrence"] is None


@pytest.mark.parametrize("text", ["ㅎㅎ 오늘 날씨 좋다", "lol nice weather today", "I'm so tired"])
def test_chatter_is_no_task_and_nothing_is_stored(client_a, text):
    assert parse(client_a, text) == {"tasks": [], "source": "rules"}
    assert parse(client_a, text, create=True) == {"tasks": [], "source": "rules"}
    assert not Task.objects.filter(workspace_id="alpha").exists()


def test_an_adjective_is_no_recurrence_and_a_glued_exclamation_no_marker(client_a):
    [monthly] = parse(client_a, "Create monthly report")["tasks"]
    assert (monthly["title"], monthly["recurrence"], monthly["matches"]) == (
        "Create monthly report", None, [],
    )  # fmt: skip
    [milk] = parse(client_a, "Buy milk!")["tasks"]
    assert milk["priority"] is None and milk["title"] == "Buy milk"


def test_an_email_address_is_no_category_and_a_number_no_tag(client_a):
    [draft] = parse(client_a, "Email bob@example.com about issue #42")["tasks"]
    assert draft["source_text"] == "Email bob@example.com about issue #42"
    assert draft["category"] == "general" and draft["tags"] == []
    assert "bob@example.com" in draft["title"] and "#42" in draft["title"]


def test_gemini_answers_times_recurrence_and_priority_in_the_same_shape(client_a, gemini):
    gemini.parse_answer = {
        "tasks": [
            {"title": "팀 회의", "due_date": "2026-12-14", "due_time": "15:00",
             "recurrence": "FREQ=WEEKLY;BYDAY=MO", "priority": "critical", "category": "회사",
             "tags": ["work"], "source_text": TEXT},
        ]
    }  # fmt: skip
    body = parse(client_a, TEXT)
    assert body["source"] == "llm"
    [draft] = body["tasks"]
    assert draft["due_date"] == "2026-12-14T06:00:00Z" and draft["due_timezone"] == "Asia/Seoul"
    assert (draft["recurrence"], draft["priority"]) == ("FREQ=WEEKLY;BYDAY=MO", "critical")
    assert {m["kind"] for m in draft["matches"]} == {
        "recurrence", "time", "priority", "tag", "category",
    }  # fmt: skip
    schema = gemini.requests[-1][1]["generationConfig"]["responseSchema"]
    item = schema["properties"]["tasks"]["items"]["properties"]
    assert {"due_time", "recurrence", "priority"} <= set(item)


@pytest.mark.parametrize(
    "bad", [{"recurrence": "FREQ=SECONDLY"}, {"due_time": "25:00"}, {"priority": "urgent"}]
)
def test_a_gemini_answer_off_the_new_fields_falls_back_to_the_rules(client_a, gemini, bad):
    gemini.parse_answer = {
        "tasks": [{"title": "팀 회의", "due_date": "2026-12-14", "tags": [], "source_text": TEXT,
                   **bad}]
    }  # fmt: skip
    body = parse(client_a, TEXT)
    assert body["source"] == "rules"
    assert body["tasks"][0]["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"


def test_a_long_run_on_note_splits_into_its_tasks_with_each_phrase_on_its_own_task():
    from bench.capture import LONG_KOREAN

    found = capture_tasks(LONG_KOREAN, today=date.fromisoformat(TODAY))
    assert [
        (t.title, t.due_date and t.due_date.isoformat(), t.due_time and t.due_time.isoformat(),
         t.recurrence, t.priority, t.tags, t.category)
        for t in found
    ] == [
        ("치과 예약하기", "2026-12-10", "15:00:00", None, None, [], None),
        ("보고서 제출", "2026-12-11", None, None, None, [], None),
        ("분리수거하기", "2026-12-14", None, "FREQ=WEEKLY;BYDAY=MO", None, ["집안일"], None),
        ("여권 갱신", "2027-01-03", None, None, "critical", [], None),
        ("은행 가기", "2026-12-11", "09:00:00", None, None, [], None),
        ("카드값 정리하기", "2026-12-31", None, None, None, [], "개인"),
        ("부모님 댁 방문하기", "2026-12-12", None, None, "high", [], None),
        ("장보기", "2026-12-13", None, None, None, [], None),
        ("팀 회고 준비하기", "2026-12-11", None, "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", None, [], None),
        ("일기 쓰기", "2026-12-09", "22:00:00", "FREQ=DAILY", None, [], None),
        ("정기검진 예약하기", "2026-12-30", None, None, "critical", ["건강"], None),
    ]  # fmt: skip


def test_a_phrase_before_a_clause_break_stays_with_the_task_before_it(client_a):
    text = "Call grandma every Sunday at 5pm, then pay rent on the 5th p2"
    first, second = parse(client_a, text, timezone="America/New_York")["tasks"]
    assert (first["title"], first["due_date"], first["recurrence"]) == (
        "Call grandma", "2026-12-13T22:00:00Z", "FREQ=WEEKLY;BYDAY=SU",
    )  # fmt: skip
    assert [m["text"] for m in first["matches"]] == ["every Sunday", "at 5pm"]
    assert (second["title"], second["due_date"], second["priority"]) == (
        "pay rent", "2027-01-05", "high",
    )  # fmt: skip
    assert [m["kind"] for m in second["matches"]] == ["date", "priority"]


PIECES = [
    "내일", "오후 3시", "매주 월요일", "격주", "!!", "!", "p1", "#운동", "@회사", "급함", "하고", "그리고",
    "청소하기", "보고서 제출", "ㅋㅋ", "좋다", ",", ".", "\n", "every other Tuesday", "at 5pm",
    "tomorrow", "then", "and", "buy milk", "call mom", "daily", "urgent:", "in 3 days", "on the 5th",
    "12월 31일", "3일 후", "매달 말일", "every 3rd Friday", "14:00", "정오", "lol", "#42", "a@b.c",
]  # fmt: skip


@pytest.mark.slow
def test_any_mix_of_phrases_parses_with_spans_that_point_at_the_text():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    today = date.fromisoformat(TODAY)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=12))
    def check(pieces):
        text = " ".join(pieces)
        for task in capture_tasks(text, today=today):
            assert task.title.strip()
            assert all(text[m["start"] : m["end"]] == m["text"] for m in task.matches)
            assert task.recurrence is None or task.recurrence.startswith("FREQ=")

    check()


@pytest.mark.parametrize(
    "text", ["매년 2월 30일 기념일 챙기기", "매달 32일 정산", "every year on Feb 30 party"]
)
def test_a_recurrence_that_never_occurs_is_dropped_not_refused(client_a, text):
    body = parse(client_a, text, status=201, create=True)
    [task] = body["tasks"]
    assert task["recurrence"] is None
    assert Task.objects.get(workspace_id="alpha", client_id=task["id"]).recurrence is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("매주 월요일 오후 3시 팀 회의 !! #work @회사, 그리고 내일 우유 사기",
         [("팀 회의", "critical", ["work"], "회사"), ("우유 사기", None, [], None)]),
        ("p1 fix login then #home water plants daily",
         [("fix login", "critical", [], None), ("water plants", None, ["home"], None)]),
        ("여권 갱신 !! 모레 은행 가기", [("여권 갱신", "critical", [], None), ("은행 가기", None, [], None)]),
    ],
)  # fmt: skip
def test_markers_stay_on_their_side_of_the_separator(text, expected):
    found = capture_tasks(text, today=date.fromisoformat(TODAY))
    assert [(t.title, t.priority, t.tags, t.category) for t in found] == expected
