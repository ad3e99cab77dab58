"""Free text -> tasks, offline (tasks.capture_rules): accuracy on the 63-sentence table of
tests/tasks/capture_cases.py, against what the libraries alone get right, and the cost.

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

from bench.common import Result
from tasks.capture_rules import HANGUL, capture_tasks, korean_analyzer
from tests.tasks.capture_cases import CASES, TODAY

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
