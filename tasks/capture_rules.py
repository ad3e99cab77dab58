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
- Before any of that, tasks.capture_phrases finds the markers (`!!`, `p1`, `급함`, `#tag`,
  `@category`), times and recurrence phrases and blanks them out; each lands on the clause it is
  written in, and every phrase read is answered as a `match` (kind, text, start, end).
- Chatter is no task: a Korean clause whose last predicate is an adjective or `이다` with its
  ending (`날씨 좋다`, `피곤하다`), anything in the past tense (`웃겼어`), interjections alone
  (`와 대박`); an English clause that does not start with a verb and holds a word of talk (`lol`,
  `is`, `so`, `what`...).
"""

import functools
import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import dateparser
from dateutil.relativedelta import relativedelta

from tasks.capture_phrases import (
    PRIORITY_RANK,
    Found,
    blank,
    find_markers,
    find_recurrences,
    find_times,
    first_occurrence,
)
from tasks.recurrence import RecurrenceError, recurrence_normalised

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# A stop followed by a space or the end (not the dots of `example.com` or `12.5`), a line break.
SENTENCE_END = re.compile(r"[.!?。]+(?=\s|$)|\n+|。")

KO_WEEKDAYS = "월화수목금토일"
EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EN_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAY = "(?:" + "|".join(EN_WEEKDAYS) + "|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)"

# Date phrases, with the words that tie them to the task ("by", "까지") so that the title loses them.
KO_COUNTS = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8,
             "아홉": 9, "열": 10}  # fmt: skip
KO_SPANS = {"일주일": 7, "열흘": 10, "이틀": 2, "사흘": 3, "나흘": 4, "보름": 15}
KO_DATE = re.compile(
    r"(?:(?P<week>다다음\s*주|다음\s*주|이번\s*주|담주)\s*)?(?P<wd>[월화수목금토일])요일"
    r"|(?P<weekend>(?:이번\s*)?주말)"
    r"|(?P<nextend>다음\s*달\s*말)"
    r"|(?P<monthend>월말|(?:이번\s*달|이달)\s*(?:말일|말|안|중|내)(?=[\s에까]|$))"
    r"|다음\s*달\s*(?P<nmd>\d{1,2})\s*일"
    r"|내년\s*(?P<nym>\d{1,2})\s*월\s*(?P<nyd>\d{1,2})\s*일"
    r"|(?P<rel>오늘|내일|모레|글피)"
    r"|(?:(?P<y>\d{4})\s*년\s*)?(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일"
    r"|(?P<n>\d{1,3}|한|두|세|네|다섯|여섯|일곱|여덟|아홉|열)\s*(?P<unit>일|주일?|달|개월|년)\s*(?:후|뒤)"
    r"|(?P<span>일주일|열흘|이틀|사흘|나흘|보름)\s*(?:후|뒤)"
    r"|(?P<iso>\d{4}-\d{1,2}-\d{1,2})|(?P<md>\b\d{1,2}/\d{1,2}\b)"
    r"|(?<![\d월])(?P<dom>\d{1,2})\s*일(?=에|까지|\s|$)"
)
# What ties a date to the task (`까지`, `에`), with a part of the day named without an hour
# (`금요일 저녁에`): they leave the title with the date.
KO_DATE_TAIL = re.compile(
    r"^(?:\s*(?:아침|점심|저녁|밤|새벽|오전|오후)(?=[\s,에까]|$))?"
    r"(?:\s*(?:까지는|까지|에는|에|까진|중에|안에|내에|은|는)(?=[\s,]|$))?"
)
EN_NUMBER = r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
EN_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
             "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}  # fmt: skip
EN_DATE = re.compile(
    r"\b(?:(?:by|on|until|till|due|before|for|at|within)\s+)?(?:"
    r"(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(?P<next>next\s+)?month"
    r"|in\s+(?P<n>" + EN_NUMBER + r")\s+(?P<unit>day|week|month|year)s?"
    r"|the\s+(?P<dom>\d{1,2})(?:st|nd|rd|th)(?!\s+of\s)"
    r"|(?:the\s+day\s+after\s+tomorrow|today|tonight|tomorrow)"
    r"|(?:(?:next|this|coming)\s+)?" + _WEEKDAY + r"\b"
    r"|next\s+week"
    r"|(?:" + EN_MONTHS + r")\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + EN_MONTHS + r")(?:\s+\d{4})?"
    r"|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r")\b",
    re.IGNORECASE,
)
EN_BY = re.compile(r"^(?:by|on|until|till|due|before|for|at|within)\s+", re.IGNORECASE)

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
    due_time: time | None = None  # local, in the caller's time zone
    recurrence: str | None = None  # an RRULE; due_date is its first date
    priority: str | None = None  # None: no marker (the task's default)
    tags: list[str] = field(default_factory=list)  # from #tags
    category: str | None = None  # from @category
    matches: list[dict] = field(default_factory=list)  # what was read, as spans of the text


@dataclass
class _Clause:
    start: int  # its words, in the text
    end: int
    span: tuple[int, int]  # up to the next clause's cut: what is written there is the clause's
    title: str
    due: date | None  # its own date phrase's, or carried from the clause before
    own_date: bool
    chatter: bool
    phrases: list[Found] = field(default_factory=list)


@functools.cache
def korean_analyzer():
    """kiwipiepy's analyser, built once per process (about 500 MB and 5 s: gunicorn builds it in
    the master before forking, so the workers share it; see deploy/gunicorn.conf.py)."""
    from kiwipiepy import Kiwi

    return Kiwi()


def capture_tasks(text: str, *, today: date) -> list[CapturedTask]:
    """The tasks in `text` (Korean, English or both), with due dates resolved against `today`."""
    work, phrases = _without_phrases(text)
    clauses: list[_Clause] = []
    for offset, sentence in _sentences(work):
        clauses.extend(_read_sentence(sentence, offset, today))
    if not clauses:
        return []
    plain = blank(text, phrases, breaks=False)
    for phrase in phrases:
        _owner(clauses, phrase, plain).phrases.append(phrase)
    return [_task(text, clause, today) for clause in clauses if not clause.chatter and
            _is_a_task(clause.title)]  # fmt: skip


# What separates two tasks in the gap between them, once the phrases are blanked out.
_SEPARATOR = re.compile(r"[,;.?。\n]|그리고|그다음|\bthen\b|\band\b", re.IGNORECASE)


def _owner(clauses: list[_Clause], phrase: Found, plain: str) -> _Clause:
    """The clause a phrase is written in. Between two clauses: the one on its side of the
    separator (`팀 회의 !! #work, 그리고 우유 사기`: the markers before the comma are the meeting's;
    `... 하기. 매일 일기 쓰기`: 매일 is the diary's), else the nearer one (`..., 정리하기 @개인 p2
    이번 주 ...`: @개인 ends the first task, p2 starts the second), the one before on a tie.
    `plain` is the text with every phrase blanked out."""
    before = None
    for clause in clauses:
        if clause.span[0] <= phrase.start < clause.span[1]:
            return clause
        if clause.span[1] <= phrase.start:
            before = clause
            continue
        if before is None:
            return clause
        cut_after = _SEPARATOR.search(plain, phrase.end, clause.start)
        cut_before = _SEPARATOR.search(plain, before.end, phrase.start)
        if cut_after and not cut_before:
            return before
        if cut_before and not cut_after:
            return clause
        return clause if clause.start - phrase.end < phrase.start - before.end else before
    return before or clauses[0]


def _never_occurs(rule: str) -> bool:
    try:
        recurrence_normalised(rule)
    except RecurrenceError:
        return True
    return False


def _without_phrases(text: str) -> tuple[str, list[Found]]:
    """The text with its markers, then its times, then its recurrence phrases blanked out (in that
    order: `매일 밤 10시` is a time, 밤 10시, and a recurrence, 매일), and what was found."""
    found: list[Found] = []
    for finder in (find_markers, find_times, find_recurrences):
        phrases = finder(text)
        text = blank(text, phrases)
        found += phrases
    return text, found


def _read_sentence(sentence: str, offset: int, today: date) -> list[_Clause]:
    carried: date | None = None
    korean = bool(HANGUL.search(sentence))
    tokens = korean_analyzer().tokenize(sentence) if korean else []
    spans = _korean_clauses(sentence, tokens) if korean else _english_clauses(sentence)
    clauses = []
    for start, end in spans:
        span = (offset + start, offset + end)
        start += len(sentence[start:end]) - len(sentence[start:end].lstrip())
        end -= len(sentence[start:end]) - len(sentence[start:end].rstrip())
        clause = sentence[start:end]
        due, (date_start, date_end) = _find_date(clause, today, korean=korean)
        weekday_only = _is_weekday_only(clause[date_start:date_end])
        if korean:
            inside = [t for t in tokens if start <= t.start < end]
            kept = [t for t in inside if not (start + date_start <= t.start < start + date_end)]
            at_end = not sentence[end:].strip()
            title, chatter = _korean_title(kept, at_end=at_end), _korean_chatter(inside)
        else:
            title = _english_title(clause[:date_start] + " " + clause[date_end:])
            chatter = _english_chatter(title)
        if due is not None and carried is not None and due < carried and weekday_only:
            due += timedelta(weeks=1)  # "월요일까지 ..., 화요일에 ...": the Tuesday after
        carried = due or carried
        read = _Clause(offset + start, offset + end, span, title, carried, due is not None, chatter)
        if due is not None:
            read.phrases.append(Found("date", offset + start + date_start,
                                      offset + start + date_end, due))  # fmt: skip
        if not WORD.search(title) and due is not None and clauses and not clauses[-1].own_date:
            # A date alone after a task (`구독 해지하기 이번 달 말까지`) is that task's.
            clauses[-1].due, clauses[-1].own_date = due, True
            clauses[-1].phrases += read.phrases
            clauses[-1].end, clauses[-1].span = read.end, (clauses[-1].span[0], read.span[1])
            continue
        clauses.append(read)
    return clauses


def _task(text: str, clause: _Clause, today: date) -> CapturedTask:
    """A clause and its phrases as a draft: the recurrence's first date when no date is given, today
    for a time alone; the highest priority marker; tags in order."""
    kinds: dict[str, list] = {}
    for phrase in clause.phrases:
        kinds.setdefault(phrase.kind, []).append(phrase.value)
    due = clause.due
    recurrence = kinds.get("recurrence", [None])[0]
    # `매년 2월 30일`: read, but no task can recur so (the API would refuse it).
    if recurrence is not None and _never_occurs(recurrence):
        recurrence = None
    if recurrence is not None:
        due = first_occurrence(recurrence, today, on_or_after=due if clause.own_date else None)
    due_time = kinds.get("time", [None])[0]
    if due_time is not None and due is None:
        due = today
    priorities = kinds.get("priority", [])
    start = min([clause.start, *(p.start for p in clause.phrases)])
    end = max([clause.end, *(p.end for p in clause.phrases)])
    source = text[start:end].strip(" ,")
    return CapturedTask(
        title=clause.title,
        due_date=due,
        source_text=source,
        due_time=due_time,
        recurrence=recurrence,
        priority=max(priorities, key=PRIORITY_RANK.__getitem__) if priorities else None,
        tags=list(dict.fromkeys(kinds.get("tag", []))),
        category=kinds.get("category", [None])[0],
        matches=[p.as_match(text) for p in sorted(clause.phrases, key=lambda p: p.start)],
    )


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


def _sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) for each sentence, stripped."""
    found, start = [], 0
    for match in [*SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        part = text[start:end]
        if part.strip():
            lead = len(part) - len(part.lstrip())
            found.append((start + lead, part.strip()))
        start = match.end() if match else end
    return found


def _korean_clauses(sentence: str, tokens) -> list[tuple[int, int]]:
    """Clause spans: split at connective endings (-고 after a predicate), conjunctions, and commas
    that end a clause (two words or a predicate since the last comma: not `우유, 계란 사기`)."""
    cuts: list[tuple[int, int]] = []  # (end of a clause, start of the next)
    since = 0  # where the words before the next comma start
    for i, token in enumerate(tokens):
        end = token.start + token.len
        if token.tag == "ETN" and token.form == "기" and _starts_more(tokens, i + 1):
            # `-기` closes a to-do: `카드값 정리하기 이번 주 토요일에 ...` is two tasks.
            cuts.append((end, since := tokens[i + 1].start))
        elif token.tag == "EC" and token.form in KO_CLAUSE_ENDINGS and i > 0:
            if _tag(tokens[i - 1]) in KO_PREDICATES | {"VX"} and sentence[end:].strip():
                cuts.append((end, since := _skip_afterwards(tokens, i + 1, end)))
        elif token.tag == "MAJ" and token.form in KO_CONJUNCTIONS:
            cuts.append((token.start, since := _skip_afterwards(tokens, i, token.start)))
        elif token.tag == "SP" and token.form == ",":
            words = [t for t in tokens[:i] if t.start >= since]
            content = [t for t in words if t.tag.startswith(("NN", "SN", "SL"))]
            if len(content) >= 2 or any(_tag(t) in KO_PREDICATES for t in words):
                cuts.append((token.start, end))
            since = end
    spans, start = [], 0
    for end, next_start in cuts:
        spans.append((start, end))
        start = max(next_start, end)
    spans.append((start, len(sentence)))
    return [(a, b) for a, b in spans if sentence[a:b].strip(" ,")]


def _starts_more(tokens, index: int) -> bool:
    """Whether words (not particles, endings or punctuation) follow."""
    return any(not t.tag.startswith(("J", "E", "S", "X")) for t in tokens[index:])


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
    # A cut starts at its word, not at the spaces before it: what was blanked out there (`at 5pm`,
    # `every Sunday`) is written in the clause before.
    cuts = [(_word_start(m), m.end()) for m in EN_SPLIT.finditer(sentence)]
    for m in re.finditer(r",\s*(?:and\s+)?|\s+and\s+", sentence):
        if not any(a <= m.start() < b for a, b in cuts) and _starts_a_task(sentence[m.end() :]):
            cuts.append((_word_start(m), m.end()))
    spans, start = [], 0
    for end, next_start in sorted(cuts):
        spans.append((start, end))
        start = next_start
    spans.append((start, len(sentence)))
    return [(a, b) for a, b in spans if sentence[a:b].strip(" ,")]


def _word_start(match: re.Match) -> int:
    return match.start() + len(match.group()) - len(match.group().lstrip())


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
    due = _resolve_korean(match, today) if korean else _resolve_english(match, today)
    end = match.end()
    if korean:
        end += KO_DATE_TAIL.match(clause[end:]).end()
    return due, (match.start(), end)


def _month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def _day_of_month(today: date, day: int, months_ahead: int = 0) -> date | None:
    """Day `day` of this month (or the next, when it has passed), or `months_ahead` months on."""
    month = today.replace(day=1) + relativedelta(months=months_ahead)
    if months_ahead == 0 and day < today.day:
        month += relativedelta(months=1)
    if day > monthrange(month.year, month.month)[1]:
        return None
    return month.replace(day=day)


def _ahead(today: date, count: int, unit: str) -> date:
    if unit.startswith(("일", "day")):
        return today + timedelta(days=count)
    if unit.startswith(("주", "week")):
        return today + timedelta(weeks=count)
    if unit.startswith(("달", "개월", "month")):
        return today + relativedelta(months=count)
    return today + relativedelta(years=count)


def _resolve_korean(match: re.Match, today: date) -> date | None:
    if match.group("weekend"):  # this week's Saturday
        return today + timedelta(days=(5 - today.weekday()) % 7)
    if match.group("monthend"):
        return _month_end(today)
    if match.group("nextend"):
        return _month_end(today.replace(day=1) + relativedelta(months=1))
    if match.group("nmd"):
        return _day_of_month(today, int(match.group("nmd")), months_ahead=1)
    if match.group("nym"):
        try:
            return date(today.year + 1, int(match.group("nym")), int(match.group("nyd")))
        except ValueError:
            return None
    if match.group("unit"):
        count = KO_COUNTS.get(match.group("n")) or int(match.group("n"))
        return _ahead(today, count, match.group("unit"))
    if match.group("span"):
        return today + timedelta(days=KO_SPANS[match.group("span")])
    if match.group("dom"):
        return _day_of_month(today, int(match.group("dom")))
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


def _resolve_english(match: re.Match, today: date) -> date | None:
    if "end" in match.group(0).lower() and "month" in match.group(0).lower():
        months = 1 if match.group("next") else 0
        return _month_end(today.replace(day=1) + relativedelta(months=months))
    if match.group("unit"):
        count = EN_COUNTS.get(match.group("n").lower()) or int(match.group("n"))
        return _ahead(today, count, match.group("unit").lower())
    if match.group("dom"):
        return _day_of_month(today, int(match.group("dom")))
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


def _tag(token) -> str:
    """The part of speech without kiwipiepy's irregular-conjugation mark (`VA-I` -> `VA`)."""
    return token.tag.split("-")[0]


def _korean_title(tokens, *, at_end: bool = False) -> str:
    """The clause's morphemes as a task name: its first predicate made a noun (-기), what follows
    dropped (endings, `해야 해`): `방 청소하고` -> `방 청소하기`, `빨래해야해` -> `빨래하기`. A
    sentence's last word read as verb + `고` is the noun it spells (`월간 보고`)."""
    tokens = [t for t in tokens if t.tag not in {"SP", "SF", "SE", "SS", "SW"}]
    while tokens and (tokens[0].tag.startswith(("J", "E")) or tokens[0].form in KO_CONJUNCTIONS):
        tokens = tokens[1:]
    predicate = next((i for i, t in enumerate(tokens) if _tag(t) in KO_PREDICATES), None)
    if predicate is None:  # a noun phrase: `치과 예약`, `부모님께 안부 전화` (inner particles kept)
        while tokens and tokens[-1].tag.startswith(("J", "E")):
            tokens = tokens[:-1]
        return korean_analyzer().join(tokens).strip() if tokens else ""
    rest = tokens[predicate + 1 :]
    if at_end and len(rest) == 1 and rest[0].tag == "EC" and rest[0].form == "고":
        return korean_analyzer().join(tokens).strip()
    return korean_analyzer().join([*tokens[: predicate + 1], ("기", "ETN")]).strip()


_PAST = {"었", "았", "였", "었었", "았었"}


def _korean_chatter(tokens) -> bool:
    """Said, not to be done: in the past tense (`웃겼어`, `보냈어?`), interjections and no verb
    (`와 대박`), or ending on an adjective or `이다` (`날씨 좋다`, `피곤하다`, `좋은 아침이에요`)."""
    words = [t for t in tokens if t.tag not in {"SP", "SF", "SE", "SS", "SW", "SO"}]
    if any(t.tag == "EP" and t.form in _PAST for t in words):
        return True
    verbs = [i for i, t in enumerate(words) if _tag(t) in {"VV", "XSV", "VX"}]
    if not verbs and any(t.tag == "IC" for t in words):
        return True
    predicates = [i for i, t in enumerate(words) if _tag(t) in {"VV", "XSV", "VA", "XSA", "VCP"}]
    if not predicates or verbs and verbs[-1] > predicates[-1]:
        return False
    last = predicates[-1]
    ending = words[last + 1] if last + 1 < len(words) else None
    return (
        _tag(words[last]) in {"VA", "XSA", "VCP"}
        and ending is not None
        and (ending.tag in {"EF", "EC"})
    )


# Words of talk: a clause that does not start with a verb and holds one is not a task.
EN_CHATTER = frozenset(
    [
        "lol",
        "lmao",
        "rofl",
        "haha",
        "hahaha",
        "hehe",
        "omg",
        "ugh",
        "wow",
        "yay",
        "meh",
        "nice",
        "lovely",
        "awesome",
        "great",
        "cool",
        "tired",
        "hungry",
        "sleepy",
        "bored",
        "fun",
        "what",
        "how",
        "why",
        "is",
        "are",
        "was",
        "were",
        "am",
        "i'm",
        "im",
        "it's",
        "that's",
        "so",
        "too",
        "thanks",
        "thank",
    ]
)
EN_GREETINGS = frozenset({"good morning", "good night", "good evening", "good afternoon"})


def _english_chatter(title: str) -> bool:
    words = re.findall(r"[a-z']+", title.lower())
    if not words or words[0] in EN_TASK_VERBS:
        return False
    return " ".join(words) in EN_GREETINGS or any(word in EN_CHATTER for word in words)


def _english_title(clause: str) -> str:
    title = EN_LEADING.sub("", re.sub(r"\s+", " ", clause).strip(" ,:;-"))
    return title.strip(" ,.:;-")


def phrases_in(text: str, part: str) -> list[dict]:
    """The phrases the rules read in `part` of `text` (a language model's source_text), as matches
    of `text`: a model's drafts are underlined like the rules' ones. [] when `part` is not in it."""
    offset = text.find(part) if part else -1
    if offset < 0:
        return []
    work, found = _without_phrases(part)
    pattern = KO_DATE if HANGUL.search(part) else EN_DATE
    if (match := pattern.search(work)) is not None:
        found.append(Found("date", match.start(), match.end(), None))
    return [
        Found(p.kind, p.start + offset, p.end + offset, p.value).as_match(text)
        for p in sorted(found, key=lambda p: p.start)
    ]
