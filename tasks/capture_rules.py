"""Free text -> tasks, offline, for Korean and English: the rules behind POST /api/tasks/parse when
no LLM answers. Plain Python (no Django), so it can be measured alone (tests/tasks/capture_cases.py).

- Clauses: sentence ends, then Korean connective endings found by kiwipiepy's morphological analysis
  (`청소하고` -> 청소/하/고 EC; `그리고`, `고 나서`), English `then`/`and then`/`;`, and commas or
  `and` when what follows starts a new task (a verb or a date) rather than continuing a list.
- Dates: dateparser (Korean and English) resolves the date phrases found in a clause; the Korean
  phrases it does not resolve (모레, 글피, 다음 주/이번 주 + weekday) are computed here. A clause with
  no date of its own takes the date of the clause before it in the same sentence.
- Titles: the clause without its date phrase and, in Korean, with its predicate made a noun
  (`방 청소하고` -> `방 청소하기`, `빨래해야해` -> `빨래하기`).
"""

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import dateparser

HANGUL = re.compile(r"[\uac00-\ud7a3]")
SENTENCE_END = re.compile(r"(?<!\d)[.!?。\n]+|[.!?](?=\s)")

KO_WEEKDAYS = "월화수목금토일"
EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EN_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAY = "(?:" + "|".join(EN_WEEKDAYS) + "|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)"

# Date phrases, with the words that tie them to the task ("by", "까지") so that the title loses them.
KO_DATE = re.compile(
    r"(?:(?P<week>다다음\s*주|다음\s*주|이번\s*주|담주)\s*)?(?P<wd>[월화수목금토일])요일"
    r"|(?P<rel>오늘|내일|모레|글피)"
    r"|(?:(?P<y>\d{4})\s*년\s*)?(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일"
    r"|(?P<n>\d{1,3})\s*일\s*(?:후|뒤)"
    r"|(?P<iso>\d{4}-\d{1,2}-\d{1,2})|(?P<md>\b\d{1,2}/\d{1,2}\b)"
)
KO_DATE_TAIL = re.compile(r"^(?:까지는|까지|에는|에|까진|중에|안에|은|는)(?=[\s,]|$)")
EN_DATE = re.compile(
    r"\b(?:(?:by|on|until|till|due|before|for)\s+)?(?:"
    r"(?:the\s+day\s+after\s+tomorrow|today|tonight|tomorrow)"
    r"|(?:(?:next|this|coming)\s+)?" + _WEEKDAY + r"\b"
    r"|in\s+\d{1,3}\s+(?:days?|weeks?)"
    r"|next\s+week"
    r"|(?:" + EN_MONTHS + r")\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + EN_MONTHS + r")(?:\s+\d{4})?"
    r"|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r")\b",
    re.IGNORECASE,
)
EN_BY = re.compile(r"^(?:by|on|until|till|due|before|for)\s+", re.IGNORECASE)

# English words that start a new task after "and" or a comma (not a list: "milk, eggs and bread").
EN_TASK_VERBS = frozenset(
    [
        "ask",
        "book",
        "bring",
        "buy",
        "call",
        "cancel",
        "change",
        "check",
        "clean",
        "cook",
        "deploy",
        "do",
        "draft",
        "email",
        "e-mail",
        "feed",
        "file",
        "finish",
        "fix",
        "get",
        "give",
        "go",
        "grab",
        "hand",
        "have",
        "help",
        "install",
        "learn",
        "make",
        "meet",
        "message",
        "order",
        "organize",
        "organise",
        "pack",
        "pay",
        "pick",
        "plan",
        "post",
        "practice",
        "practise",
        "prepare",
        "print",
        "read",
        "register",
        "remind",
        "renew",
        "reply",
        "report",
        "return",
        "review",
        "run",
        "schedule",
        "sell",
        "send",
        "ship",
        "sign",
        "start",
        "study",
        "submit",
        "take",
        "talk",
        "text",
        "tidy",
        "update",
        "upload",
        "visit",
        "walk",
        "wash",
        "water",
        "write",
    ]
)
EN_SPLIT = re.compile(r"\s*(?:,\s*(?:and\s+)?then|\band\s+then|\bthen|;)\s+", re.IGNORECASE)
EN_LEADING = re.compile(
    r"^(?:(?:and|also|please|plus)\s+)*(?:(?:i|we)\s+(?:need|have|want|must|should|gotta|got)\s+"
    r"(?:to\s+)?|(?:need|have|want)\s+to\s+|(?:don'?t\s+forget|remember)\s+to\s+|must\s+|should\s+|"
    r"to\s+)?",
    re.IGNORECASE,
)

# Korean morphemes: predicates, connective endings that end a clause, conjunctions that begin one.
KO_PREDICATES = {"VV", "XSV", "VA", "XSA"}
KO_CLAUSE_ENDINGS = {"고"}
KO_CONJUNCTIONS = {"그리고", "그다음", "그다음에", "그리고서", "그러고", "또"}


@dataclass
class CapturedTask:
    title: str
    due_date: date | None
    source_text: str


@functools.cache
def korean_analyzer():
    """kiwipiepy's analyser, built once per process (about 500 MB and 5 s: gunicorn builds it in
    the master before forking, so the workers share it; see deploy/gunicorn.conf.py)."""
    from kiwipiepy import Kiwi

    return Kiwi()


def capture_tasks(text: str, *, today: date) -> list[CapturedTask]:
    """The tasks in `text` (Korean, English or both), with due dates resolved against `today`."""
    found: list[CapturedTask] = []
    for sentence in _sentences(text):
        carried: date | None = None
        korean = bool(HANGUL.search(sentence))
        tokens = korean_analyzer().tokenize(sentence) if korean else []
        spans = _korean_clauses(sentence, tokens) if korean else _english_clauses(sentence)
        for start, end in spans:
            clause = sentence[start:end]
            due, (date_start, date_end) = _find_date(clause, today, korean=korean)
            weekday_only = _is_weekday_only(clause[date_start:date_end])
            if korean:
                inside = [t for t in tokens if start <= t.start < end]
                kept = [
                    t for t in inside
                    if not (start + date_start <= t.start < start + date_end)
                ]  # fmt: skip
                title = _korean_title(kept)
            else:
                title = _english_title(clause[:date_start] + " " + clause[date_end:])
            if due is not None and carried is not None and due < carried and weekday_only:
                due += timedelta(weeks=1)  # "월요일까지 ..., 화요일에 ...": the Tuesday after
            carried = due or carried
            if _is_a_task(title):
                found.append(CapturedTask(title, carried, clause.strip(" ,")))
    return found


# What is said rather than to be done: greetings, thanks, laughter.
NOT_TASKS = frozenset(
    [
        "hello",
        "hi",
        "hey",
        "thanks",
        "thank",
        "you",
        "ok",
        "okay",
        "yes",
        "no",
        "안녕",
        "안녕하세요",
        "고마워",
        "감사합니다",
        "네",
        "응",
    ]
)
WORD = re.compile(r"[A-Za-z\uac00-\ud7a3]{2,}|[\uac00-\ud7a3]")


def _is_a_task(title: str) -> bool:
    """A title with a word in it (not only punctuation or ㅋㅋ) that is not a greeting."""
    return bool(WORD.search(title)) and title.lower().strip(" !.") not in NOT_TASKS


def _is_weekday_only(phrase: str) -> bool:
    """A bare weekday ("금요일", "by Friday"), which means the next one, not a given week's."""
    phrase = phrase.lower()
    named = re.search(r"[월화수목금토일]요일", phrase) or re.search(_WEEKDAY, phrase)
    return bool(named) and not re.search(r"주|next|this|coming", phrase)


def _sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(text) if part and part.strip()]


def _korean_clauses(sentence: str, tokens) -> list[tuple[int, int]]:
    """Clause spans: split at connective endings (-고 after a predicate), conjunctions, and commas
    that end a clause (two words or a predicate since the last comma: not `우유, 계란 사기`)."""
    cuts: list[tuple[int, int]] = []  # (end of a clause, start of the next)
    since = 0  # where the words before the next comma start
    for i, token in enumerate(tokens):
        end = token.start + token.len
        if token.tag == "EC" and token.form in KO_CLAUSE_ENDINGS and i > 0:
            if tokens[i - 1].tag in KO_PREDICATES | {"VX"}:
                cuts.append((end, since := _skip_afterwards(tokens, i + 1, end)))
        elif token.tag == "MAJ" and token.form in KO_CONJUNCTIONS:
            cuts.append((token.start, since := _skip_afterwards(tokens, i, token.start)))
        elif token.tag == "SP" and token.form == ",":
            words = [t for t in tokens[:i] if t.start >= since]
            content = [t for t in words if t.tag.startswith(("NN", "SN", "SL"))]
            if len(content) >= 2 or any(t.tag in KO_PREDICATES for t in words):
                cuts.append((token.start, end))
            since = end
    spans, start = [], 0
    for end, next_start in cuts:
        spans.append((start, end))
        start = max(next_start, end)
    spans.append((start, len(sentence)))
    return [(a, b) for a, b in spans if sentence[a:b].strip(" ,")]


def _skip_afterwards(tokens, index: int, position: int) -> int:
    """Past the words that only join clauses: 그리고, 나서 (고 나서), a comma."""
    while index < len(tokens):
        token = tokens[index]
        joining = (
            token.form in KO_CONJUNCTIONS
            or (token.form == "나" and token.tag == "VX")
            or (token.form in {"어서", "아서"} and token.tag == "EC")
            or token.tag == "SP"
        )
        if not joining:
            break
        position = token.start + token.len
        index += 1
    return position


def _english_clauses(sentence: str) -> list[tuple[int, int]]:
    """Clause spans: split at `then`, `and then`, `;`, and at a comma or `and` followed by a verb
    or a date (a new task), not by a noun (`milk, eggs and bread`)."""
    cuts = [(m.start(), m.end()) for m in EN_SPLIT.finditer(sentence)]
    for m in re.finditer(r",\s*(?:and\s+)?|\s+and\s+", sentence):
        if not any(a <= m.start() < b for a, b in cuts) and _starts_a_task(sentence[m.end() :]):
            cuts.append((m.start(), m.end()))
    spans, start = [], 0
    for end, next_start in sorted(cuts):
        spans.append((start, end))
        start = next_start
    spans.append((start, len(sentence)))
    return [(a, b) for a, b in spans if sentence[a:b].strip(" ,")]


def _starts_a_task(piece: str) -> bool:
    words = EN_LEADING.sub("", piece.strip()).split()
    if not words:
        return False
    if EN_DATE.match(piece.strip()):
        return True
    return words[0].lower().strip(",.") in EN_TASK_VERBS


def _find_date(clause: str, today: date, *, korean: bool) -> tuple[date | None, tuple[int, int]]:
    """The clause's due date and where its date phrase is (with `까지`, `by`...; (0, 0): none)."""
    pattern = KO_DATE if korean else EN_DATE
    match = pattern.search(clause)
    if match is None:
        return None, (0, 0)
    due = _resolve_korean(match, today) if korean else _resolve(match.group(0), today)
    end = match.end()
    if korean and (tail := KO_DATE_TAIL.match(clause[end:])):
        end += tail.end()
    return due, (match.start(), end)


def _resolve_korean(match: re.Match, today: date) -> date | None:
    if match.group("wd"):
        weekday = KO_WEEKDAYS.index(match.group("wd"))
        week = re.sub(r"\s", "", match.group("week") or "")
        if week in {"다음주", "담주", "다다음주", "이번주"}:
            monday = today - timedelta(days=today.weekday())
            weeks = {"이번주": 0, "다음주": 1, "담주": 1, "다다음주": 2}[week]
            return monday + timedelta(weeks=weeks, days=weekday)
        return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    if match.group("rel") in {"모레", "글피"}:  # dateparser knows 오늘 and 내일 only
        return today + timedelta(days={"모레": 2, "글피": 3}[match.group("rel")])
    if match.group("m"):
        text = f"{match.group('m')}월 {match.group('d')}일"
        if match.group("y"):
            text = f"{match.group('y')}년 " + text
        return _resolve(text, today)
    return _resolve(match.group(0), today)


def _resolve(phrase: str, today: date) -> date | None:
    """dateparser, with `today` as the base and future dates preferred (a weekday is the next one)."""
    phrase = EN_BY.sub("", phrase.strip()).replace("tonight", "today")
    settings = {
        "RELATIVE_BASE": datetime(today.year, today.month, today.day, 12),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "MDY",
    }
    parsed = dateparser.parse(phrase, languages=["ko", "en"], settings=settings)
    return None if parsed is None else parsed.date()


def _korean_title(tokens) -> str:
    """The clause's morphemes as a task name: its first predicate made a noun (-기), what follows
    dropped (endings, `해야 해`): `방 청소하고` -> `방 청소하기`, `빨래해야해` -> `빨래하기`."""
    tokens = [t for t in tokens if t.tag not in {"SP", "SF", "SE", "SS"}]
    while tokens and (tokens[0].tag.startswith(("J", "E")) or tokens[0].form in KO_CONJUNCTIONS):
        tokens = tokens[1:]
    predicate = next((i for i, t in enumerate(tokens) if t.tag in KO_PREDICATES), None)
    if predicate is None:  # a noun phrase: `치과 예약`
        kept = [t for t in tokens if not t.tag.startswith(("J", "E"))]
        return korean_analyzer().join(kept).strip() if kept else ""
    return korean_analyzer().join([*tokens[: predicate + 1], ("기", "ETN")]).strip()


def _english_title(clause: str) -> str:
    title = EN_LEADING.sub("", re.sub(r"\s+", " ", clause).strip(" ,"))
    return title.strip(" ,.")
