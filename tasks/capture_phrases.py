"""What a quick-add line says besides the task, found before its clauses are read: priority markers
(`!!`, `p1`, `급함`, `urgent:`), `#tags`, `@category`, times (`오후 3시`, `3pm`, `15:00`) and
recurrence (`매주 월요일`, `every other Tuesday`, `every 3rd Friday`) as RFC 5545 RRULEs. Each is a
`Found` span of the text; tasks.capture_rules blanks them out so that titles and dates never see
them, and answers them as the draft's `matches`.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.rrule import rrulestr


@dataclass
class Found:
    kind: str  # priority, tag, category, time, recurrence (and date, from capture_rules)
    start: int
    end: int
    value: object

    def as_match(self, text: str) -> dict:
        return {"kind": self.kind, "text": text[self.start : self.end], "start": self.start,
                "end": self.end}  # fmt: skip


PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
_P_LEVELS = {"1": "critical", "2": "high", "3": "medium", "4": "low"}  # Todoist's p1..p4
_WORD_PRIORITY = {"급함": "critical", "긴급": "critical", "중요": "high", "asap": "critical",
                  "urgent": "critical", "important": "high"}  # fmt: skip

MARKERS = [
    # `!!`/`!!!` anywhere, `!` standing alone (an `!` at a word's end is punctuation: "Buy milk!").
    ("priority", re.compile(r"!{2,3}|(?<!\S)!(?!\S)"), lambda m: "critical" if len(m[0]) > 1 else "high"),
    ("priority", re.compile(r"(?<![\w-])[pP]([1-4])(?![\w-])"), lambda m: _P_LEVELS[m[1]]),
    # Korean words standing alone; `urgent`/`important` only as a label (`urgent:`) or at an end.
    ("priority", re.compile(r"(?<!\S)(급함|긴급|중요|asap|ASAP)(?=[\s!:,.]|$)"), lambda m: _WORD_PRIORITY[m[1].lower()]),
    ("priority", re.compile(r"(?i)(?:^|(?<=[\s]))(urgent|important)\s*:|\b(urgent|important)\s*$"),
     lambda m: _WORD_PRIORITY[(m[1] or m[2]).lower()]),
    ("tag", re.compile(r"(?<![\w&#])#(?=\w*[^\W\d_])(\w[\w-]{0,49})"), lambda m: m[1]),
    ("category", re.compile(r"(?<![\w.@])@(?=\w*[^\W\d_])(\w[\w-]{0,99})"), lambda m: m[1]),
]  # fmt: skip

# Times. Korean: 오후 3시, 저녁 7시 반, 10시 30분, 14:00, 정오; English: 3pm, 4:30 p.m., 15:00, noon.
_KO_PERIOD = r"(?P<period>오전|오후|아침|점심|저녁|밤|새벽)"
_KO_TIME_TAIL = r"(?:\s*(?:전까지|전에|까지|쯤에?|에는|에|부터))?"
KO_TIME = re.compile(
    rf"(?:{_KO_PERIOD}\s*)?(?P<h>\d{{1,2}})\s*시(?!간)(?:\s*(?P<min>\d{{1,2}})\s*분|\s*(?P<half>반))?"
    rf"{_KO_TIME_TAIL}|(?P<noon>정오|자정){_KO_TIME_TAIL}"
)
EN_TIME = re.compile(
    r"(?i)\b(?:(?:at|by|for|from|around)\s+)?(?:"
    r"(?P<h>\d{1,2})(?::(?P<min>[0-5]\d))?\s*(?P<ampm>[ap])\.?m\.?(?![\w])"
    r"|(?P<h24>[01]?\d|2[0-3]):(?P<min24>[0-5]\d)(?!\d)"
    r"|(?P<noon>noon|midday|midnight)\b"
    # A bare hour after `at`, where nothing else can follow it ("every morning at 8").
    r"|(?<=at\s)(?P<bare>1[0-2]|[1-9])(?=\s*$|\s*[,.;!]|\s+(?:on|every|tomorrow|today|tonight)\b))"
)


def _korean_time(m: re.Match) -> time:
    if m["noon"]:
        return time(12) if m["noon"] == "정오" else time(0)
    hour, minute = int(m["h"]), 30 if m["half"] else int(m["min"] or 0)
    period = m["period"]
    if period in {"오후", "저녁", "밤"} and hour < 12 or period == "점심" and hour < 6:
        hour += 12
    elif period in {"오전", "새벽"} and hour == 12:
        hour = 0
    elif period is None and 1 <= hour <= 6:
        hour += 12  # 3시 is three in the afternoon to a person planning a day
    return time(hour % 24, min(minute, 59))


def _english_time(m: re.Match) -> time:
    if m["noon"]:
        return time(0) if m["noon"].lower() == "midnight" else time(12)
    if m["h24"] is not None:
        return time(int(m["h24"]), int(m["min24"]))
    if m["bare"] is not None:  # 7 to 11 in the morning, 12 at noon, 1 to 6 in the afternoon
        hour = int(m["bare"])
        return time(hour + 12 if hour <= 6 else hour)
    hour, minute = int(m["h"]) % 12, int(m["min"] or 0)
    return time(hour + (12 if m["ampm"].lower() == "p" else 0), minute)


def find_times(text: str) -> list[Found]:
    found = []
    for pattern, value in ((KO_TIME, _korean_time), (EN_TIME, _english_time)):
        for m in pattern.finditer(text):
            if m["h"] and not 0 <= int(m["h"]) <= 24:
                continue
            found.append(Found("time", m.start(), m.end(), value(m)))
    return found


# Recurrence. Each pattern's handler turns its match into an RRULE.
KO_DAYS = dict(zip("월화수목금토일", ("MO", "TU", "WE", "TH", "FR", "SA", "SU"), strict=True))
EN_DAYS = {
    "mon": "MO",
    "tue": "TU",
    "wed": "WE",
    "thu": "TH",
    "fri": "FR",
    "sat": "SA",
    "sun": "SU",
}
WEEKDAYS, WEEKEND = "MO,TU,WE,TH,FR", "SA,SU"
_EN_DAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday|sday)?"
_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
               "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
               "other": 2}  # fmt: skip
_EN_NUMBER = r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "last": -1, "첫째": 1, "첫번째": 1, "둘째": 2, "두번째": 2, "셋째": 3,
             "세번째": 3, "넷째": 4, "네번째": 4, "마지막": -1}  # fmt: skip
_KO_NUMBERS = {"한": 1, "두": 2, "세": 3, "네": 4, "이틀": 2, "사흘": 3, "나흘": 4}
_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_EN_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
             r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")  # fmt: skip
_KO_DAY_LIST = r"[월화수목금토일]요일(?:\s*(?:과|와|,|및|하고|랑)\s*[월화수목금토일]요일)*"
_EN_DAY_LIST = rf"{_EN_DAY}(?:\s*(?:,\s*(?:and\s+)?|and\s+|&\s*){_EN_DAY})*"
_SUFFIX = r"(?:st|nd|rd|th)"


def _n(word: str) -> int:
    return int(word) if word.isdigit() else _EN_NUMBERS.get(word.lower(), _KO_NUMBERS.get(word, 1))


def _rule(freq: str, interval: int = 1, **parts) -> str:
    text = f"FREQ={freq}" + (f";INTERVAL={interval}" if interval > 1 else "")
    return text + "".join(f";{name.upper()}={value}" for name, value in parts.items() if value)


def _ko_days(text: str) -> str:
    return ",".join(KO_DAYS[d] for d in re.findall(r"([월화수목금토일])요일", text))


def _en_days(text: str) -> str:
    return ",".join(EN_DAYS[d.lower()[:3]] for d in re.findall(_EN_DAY, text, re.IGNORECASE))


RECURRENCES = [
    # Korean
    (r"(?:매달|매월|달마다)\s*(?:말일|마지막\s*날)", lambda m: _rule("MONTHLY", bymonthday=-1)),
    (r"(?:매달|매월)\s*(?P<o>첫째|첫\s*번째|둘째|두\s*번째|셋째|세\s*번째|넷째|네\s*번째|마지막)\s*주\s*"
     r"(?P<d>[월화수목금토일])요일",
     lambda m: _rule("MONTHLY", byday=f"{_ORDINALS[m['o'].replace(' ', '')]}{KO_DAYS[m['d']]}")),
    (r"(?:매달|매월|달마다)\s*(?P<d>\d{1,2})\s*일", lambda m: _rule("MONTHLY", bymonthday=m["d"])),
    (r"(?:매년|매해|해마다)\s*(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일",
     lambda m: _rule("YEARLY", bymonth=int(m["m"]), bymonthday=int(m["d"]))),
    (r"격주\s*(?P<d>" + _KO_DAY_LIST + ")", lambda m: _rule("WEEKLY", 2, byday=_ko_days(m["d"]))),
    (r"(?:매주|매\s*주)\s*(?P<d>" + _KO_DAY_LIST + ")", lambda m: _rule("WEEKLY", byday=_ko_days(m["d"]))),
    (r"(?P<d>" + _KO_DAY_LIST + r")\s*마다", lambda m: _rule("WEEKLY", byday=_ko_days(m["d"]))),
    (r"평일\s*마다|매\s*평일|평일에는?\s*매일|주중\s*매일", lambda m: _rule("WEEKLY", byday=WEEKDAYS)),
    (r"주말\s*마다|매\s*주말", lambda m: _rule("WEEKLY", byday=WEEKEND)),
    (r"(?P<n>\d{1,3}|이틀|사흘|나흘)\s*(?:일\s*)?마다", lambda m: _rule("DAILY", _n(m["n"]))),
    (r"(?P<n>\d{1,2}|한|두|세|네)\s*주\s*(?:일\s*)?마다", lambda m: _rule("WEEKLY", _n(m["n"]))),
    (r"(?P<n>\d{1,2}|한|두|세|여섯)\s*(?:개월|달)\s*마다", lambda m: _rule("MONTHLY", _n(m["n"]))),
    (r"일주일에\s*한\s*번|매주|주마다", lambda m: _rule("WEEKLY")),
    (r"격주", lambda m: _rule("WEEKLY", 2)),
    (r"한\s*달에\s*한\s*번|매달|매월|달마다", lambda m: _rule("MONTHLY")),
    (r"매년|매해|해마다|일\s*년에\s*한\s*번", lambda m: _rule("YEARLY")),
    (r"매일|날마다|하루에\s*한\s*번|하루\s*마다", lambda m: _rule("DAILY")),
    # English
    (r"(?i)\bon\s+the\s+last\s+day\s+of\s+(?:every|each|the)\s+month\b|\bevery\s+month\s+on\s+the\s+last\s+day\b",
     lambda m: _rule("MONTHLY", bymonthday=-1)),
    (rf"(?i)\bevery\s+(?P<o>first|second|third|fourth|last|1st|2nd|3rd|4th)\s+(?P<d>{_EN_DAY})\b",
     lambda m: _rule("MONTHLY", byday=f"{_ORDINALS[m['o'].lower()]}{_en_days(m['d'])}")),
    (rf"(?i)\bevery\s+month\s+on\s+the\s+(?P<d>\d{{1,2}}){_SUFFIX}\b|\bon\s+the\s+(?P<d2>\d{{1,2}}){_SUFFIX}\s+of\s+every\s+month\b|\bevery\s+(?P<d3>\d{{1,2}}){_SUFFIX}(?:\s+of\s+the\s+month)?\b",
     lambda m: _rule("MONTHLY", bymonthday=int(m["d"] or m["d2"] or m["d3"]))),
    (rf"(?i)\bevery\s+year\s+on\s+(?P<m>{_EN_MONTH})\.?\s+(?P<d>\d{{1,2}}){_SUFFIX}?\b|\bevery\s+(?P<m2>{_EN_MONTH})\.?\s+(?P<d2>\d{{1,2}}){_SUFFIX}?\b",
     lambda m: _rule("YEARLY", bymonth=_EN_MONTHS.index((m["m"] or m["m2"]).lower()[:3]) + 1,
                     bymonthday=int(m["d"] or m["d2"]))),
    (r"(?i)\bevery\s+weekday\b|\bon\s+weekdays\b|\bweekdays\b", lambda m: _rule("WEEKLY", byday=WEEKDAYS)),
    (r"(?i)\bevery\s+weekend\b|\bon\s+weekends\b", lambda m: _rule("WEEKLY", byday=WEEKEND)),
    (rf"(?i)\bevery\s+(?P<other>other\s+)?(?P<d>{_EN_DAY_LIST})\b",
     lambda m: _rule("WEEKLY", 2 if m["other"] else 1, byday=_en_days(m["d"]))),
    (rf"(?i)\bevery\s+(?P<n>other|{_EN_NUMBER})\s+(?P<u>day|week|month|year)s?\b",
     lambda m: _rule({"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}[m["u"].lower()], _n(m["n"]))),
    (r"(?i)\b(?:every|each)\s+(?:day|morning|evening|night)\b|\beveryday\b", lambda m: _rule("DAILY")),
    (r"(?i)\b(?:every|each)\s+(?P<u>week|month|year)\b",
     lambda m: _rule({"week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}[m["u"].lower()])),
    # An adverb at the end only: "Water plants daily", not "Create monthly report".
    (r"(?i)\b(?P<u>daily|nightly|weekly|monthly|yearly|annually)\b(?=\s*(?:$|[,.;!]))",
     lambda m: _rule({"daily": "DAILY", "nightly": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
                      "yearly": "YEARLY", "annually": "YEARLY"}[m["u"].lower()])),
]  # fmt: skip
RECURRENCES = [(re.compile(pattern), handler) for pattern, handler in RECURRENCES]
# A time of day a recurrence names without an hour ("매일 아침"): part of the phrase, not the title.
_AFTER_RECURRENCE = re.compile(
    r"^(?:\s*(?:아침|점심|저녁|밤|새벽|오전|오후))?(?:\s*(?:에는|에|마다))?"
)


def find_recurrences(text: str) -> list[Found]:
    found: list[Found] = []
    for pattern, handler in RECURRENCES:
        for m in pattern.finditer(text):
            if any(f.start < m.end() and m.start() < f.end for f in found):
                continue  # a longer phrase, tried first, already holds this text
            end = m.end() + _AFTER_RECURRENCE.match(text[m.end() :]).end()
            found.append(Found("recurrence", m.start(), end, handler(m)))
    return found


def find_markers(text: str) -> list[Found]:
    found = []
    for kind, pattern, value in MARKERS:
        found.extend(Found(kind, m.start(), m.end(), value(m)) for m in pattern.finditer(text))
    return found


def first_occurrence(rule: str, today: date, *, on_or_after: date | None = None) -> date | None:
    """The rule's first date on or after `on_or_after` (default: today): a new recurring task's
    due date. The first matching day, whatever the interval: "every other Tuesday" said on a
    Wednesday is due the next Tuesday (the interval counts from there)."""
    start = datetime.combine(on_or_after or today, time())
    rule = re.sub(r";INTERVAL=\d+", "", rule)
    following = rrulestr(rule, dtstart=start).after(start - timedelta(seconds=1), inc=False)
    return None if following is None else following.date()


def blank(text: str, spans, *, breaks: bool = True) -> str:
    """`text` with the spans replaced by spaces (same length: offsets stay valid). With `breaks`,
    an exclamation-mark marker also ends its sentence, as it did before it was read as a marker
    (`여권 갱신 !! 모레 은행 가기` is two tasks): it becomes a line break."""
    chars = list(text)
    for span in spans:
        chars[span.start : span.end] = " " * (span.end - span.start)
        if breaks and text[span.start] == "!":
            chars[span.start] = "\n"
    return "".join(chars)
