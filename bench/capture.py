"""Free text -> tasks, offline (tasks.capture_rules): accuracy on the 63-sentence table of
tests/tasks/capture_cases.py, against what the libraries alone get right, and the cost; the second
round's 150 unseen sentences (tests/tasks/capture_unseen.py: recurrence, times, markers, chatter)
and 40 held-out ones (tests/tasks/capture_holdout.py) per language; the p50 of a 200-character
Korean sentence against kiwipiepy's analysis of it (the floor: no rule runs without it).

- whole sentences right (every task found, with its words and due date), Korean and English;
- Korean task counts: clauses from kiwipiepy's morphemes vs a word-final `고` regex;
- due dates: the rules (dateparser + the Korean phrases it misses) vs dateparser's search alone;
- time per sentence, and the analyser's load time and memory (once per process, shared by the
  gunicorn workers when built before the fork)."""

import re
import time
from datetime import date

import dateparser
from dateparser.search import search_dates

from bench.common import Result, median_seconds
from tasks.capture_rules import HANGUL, capture_tasks, korean_analyzer
from tests.tasks.capture_cases import CASES, TODAY
from tests.tasks.capture_holdout import HOLDOUT
from tests.tasks.capture_unseen import CASES as UNSEEN
from tests.tasks.capture_unseen import TODAY as UNSEEN_TODAY
from tests.tasks.capture_unseen import is_right

# About 200 characters of Korean with every kind of phrase in it.
LONG_KOREAN = (
    "내일 오후 3시 치과 예약하고 금요일까지 보고서 제출, 매주 월요일 분리수거하기 #집안일 그리고 "
    "다음 달 3일에 여권 갱신 !! 모레 아침 9시에 은행 가서 돈 찾기, 월말까지 카드값 정리하기 @개인 "
    "p2 이번 주 토요일에 부모님 댁 방문하고 일요일에 장보기, 격주 금요일 팀 회고 준비하기. "
    "매일 밤 10시에 일기 쓰기 그리고 3주 뒤에 정기검진 예약하기 #건강 긴급"
)

NAIVE_KOREAN_SPLIT = re.compile(r"(?<=[가-힣]고)\s+|\s*,\s*|\s*그리고\s*(?:나서)?\s*|[.!?]\s*")


def _right(expected, found) -> bool:
    return len(found) == len(expected) and all(
        word in task.title and (task.due_date and task.due_date.isoformat()) == due
        for (word, due), task in zip(expected, found, strict=True)
    )


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024


def run() -> list[Result]:
    today = date.fromisoformat(TODAY)
    before = _rss_mb()
    started = time.perf_counter()
    korean_analyzer()
    load_s, load_mb = time.perf_counter() - started, _rss_mb() - before
    korean = [(t, e) for t, e in CASES if HANGUL.search(t)]
    english = [(t, e) for t, e in CASES if not HANGUL.search(t)]
    capture_tasks("내일 치과 예약, call mom on Friday", today=today)  # dateparser loads its data
    started = time.perf_counter()
    found = {text: capture_tasks(text, today=today) for text, _ in CASES}
    per_sentence_ms = (time.perf_counter() - started) * 1000 / len(CASES)
    started = time.perf_counter()
    for text, _ in CASES:
        korean_analyzer().tokenize(text)
    analysis_ms = (time.perf_counter() - started) * 1000 / len(CASES)
    right = {text for text, expected in CASES if _right(expected, found[text])}

    def share(cases) -> float:
        return 100.0 * sum(text in right for text, _ in cases) / len(cases)

    kiwi_counts = sum(len(found[t]) == len(e) for t, e in korean)
    naive_counts = sum(
        len([p for p in NAIVE_KOREAN_SPLIT.split(t) if p and p.strip()]) == len(e)
        for t, e in korean
    )
    settings = {"RELATIVE_BASE": dateparser.parse(TODAY), "PREFER_DATES_FROM": "future"}
    dated = rules_dates = library_dates = 0
    for text, expected in CASES:
        if len(found[text]) != len(expected):
            continue
        for (_, due), task in zip(expected, found[text], strict=True):
            if due is None:
                continue
            dated += 1
            rules_dates += task.due_date is not None and task.due_date.isoformat() == due
            hits = search_dates(task.source_text, languages=["ko", "en"], settings=settings) or []
            library_dates += bool(hits) and hits[0][1].date().isoformat() == due
    return [
        *_round_two(),
        Result(
            "parse: Korean sentences right", share(korean), 100.0, "%", ">= 90 %", "all of them"
        ),
        Result(
            "parse: English sentences right", share(english), 100.0, "%", ">= 90 %", "all of them"
        ),
        Result(
            "parse: Korean task counts, kiwipiepy clauses",
            100.0 * kiwi_counts / len(korean),
            100.0 * naive_counts / len(korean),
            "%",
            "-",
            "a word-final 고 regex",
        ),  # fmt: skip
        Result(
            "parse: due dates right, rules",
            100.0 * rules_dates / dated,
            100.0 * library_dates / dated,
            "%",
            "-",
            "dateparser.search alone",
        ),  # fmt: skip
        Result(
            "parse: time per sentence",
            per_sentence_ms,
            analysis_ms,
            "ms",
            "-",
            "kiwipiepy's analysis of it alone",
        ),  # fmt: skip
        Result("parse: Korean analyser load (once per process)", load_s, load_s, "s", "-", "-"),
        Result(
            "parse: Korean analyser memory (shared by workers)", load_mb, load_mb, "MB", "-", "-"
        ),
    ]


def _accuracy(cases, language: str) -> float:
    today = date.fromisoformat(UNSEEN_TODAY)
    chosen = [case for case in cases if case.language == language]
    right = sum(is_right(case, capture_tasks(case.text, today=today)) for case in chosen)
    return 100.0 * right / len(chosen)


def _round_two() -> list[Result]:
    today = date.fromisoformat(UNSEEN_TODAY)
    assert 195 <= len(LONG_KOREAN) <= 210, len(LONG_KOREAN)
    parse_ms = median_seconds(lambda: capture_tasks(LONG_KOREAN, today=today), repeat=31) * 1000
    analyse_ms = median_seconds(lambda: korean_analyzer().tokenize(LONG_KOREAN), repeat=31) * 1000
    rows = [
        Result(f"parse 2: {name} sentences right, {label}", _accuracy(cases, language), 100.0,
               "%", goal, "all of them")
        for label, cases, goal in (("150 unseen", UNSEEN, ">= 95 %"), ("40 held out", HOLDOUT, "-"))
        for name, language in (("Korean", "ko"), ("English", "en"))
    ]  # fmt: skip
    rows.append(
        Result("parse 2: mixed sentences right, 150 unseen", _accuracy(UNSEEN, "mixed"), 100.0,
               "%", "-", "all of them")
    )  # fmt: skip
    rows.append(
        Result("parse 2: p50 of a 200-character Korean sentence", parse_ms, analyse_ms, "ms",
               "< 30 ms", "kiwipiepy's analysis of it alone")
    )  # fmt: skip
    return rows
