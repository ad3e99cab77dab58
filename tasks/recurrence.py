"""Recurring tasks: a task's `recurrence` is an RFC 5545 RRULE (`FREQ=WEEKLY;BYDAY=MO`), read by
python-dateutil's rrule. The series is anchored at the task's due date: completing an occurrence
creates the next one (flows.recurrence), due at the rule's first date after this one's, at the same
wall-clock time in the task's `due_timezone` (UTC when it has none).

- COUNT counts down: the next occurrence carries COUNT=n-1, and the one with COUNT=1 is the last.
- UNTIL ends the series: no occurrence is created past it.
- The next occurrence's id is derived from this one's id and the next date, so a completion replayed
  or made on two devices at once creates it once.
"""

import functools
import hashlib
import itertools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import SECONDLY, rrule, rrulestr

MAX_RECURRENCE_LENGTH = 500
MIN_GAP = timedelta(minutes=1)
# Where a rule is tried when it is validated: 28 years before dateutil's last year, so that a rule
# that never occurs (30 February) stops at the year 9999 within milliseconds (from 2026, dateutil
# walked it day by day for 6 s). 28 years hold every weekday of every date, 29 February included;
# the calendar repeats every 400 years, so what occurs there occurs from any due date.
_ANCHOR = datetime(9972, 1, 1)
_PREFIX = re.compile(r"^RRULE:", re.IGNORECASE)


class RecurrenceError(ValueError):
    """A sentence a person can act on."""


def recurrence_normalised(text: str) -> str:
    """The rule as stored (upper case, without `RRULE:`), or RecurrenceError: not an RRULE, a
    DTSTART (the series starts at the due date), more than one occurrence a minute, or a rule that
    never occurs."""
    rule_text = _PREFIX.sub("", text.strip()).upper().replace(" ", "")
    if len(rule_text) > MAX_RECURRENCE_LENGTH:
        raise RecurrenceError(f"A recurrence rule is at most {MAX_RECURRENCE_LENGTH} characters.")
    if not rule_text.startswith("FREQ=") and ";FREQ=" not in rule_text:
        raise RecurrenceError(
            "Expected an RFC 5545 RRULE such as 'FREQ=WEEKLY;BYDAY=MO' (FREQ is required)."
        )
    _check(rule_text)
    return rule_text


@functools.lru_cache(maxsize=1024)
def _check(rule_text: str) -> None:
    try:
        rule = rrulestr(rule_text, dtstart=_ANCHOR, ignoretz=True)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RecurrenceError(f"This is not an RFC 5545 RRULE: {exc}.") from None
    if not isinstance(rule, rrule):
        raise RecurrenceError("Give one RRULE only (no DTSTART, RDATE or EXDATE).")
    if rule._freq == SECONDLY:
        raise RecurrenceError("A task recurs at most once a minute; FREQ=SECONDLY is refused.")
    dates = list(itertools.islice(rule.replace(until=None, count=None), 30))
    if not dates and rule._until is None:
        raise RecurrenceError("This rule never occurs (check BYMONTH, BYMONTHDAY and BYSETPOS).")
    if any(b - a < MIN_GAP for a, b in itertools.pairwise(dates)):
        raise RecurrenceError("A task recurs at most once a minute; this rule recurs more often.")


def next_due(
    rule_text: str, *, due: datetime | None, has_time: bool, zone: str | None, after: datetime
) -> tuple[datetime, str] | None:
    """(the next occurrence's due date in UTC, its rule) or None when the series ends. `due` is
    this occurrence's (aware, UTC); a task without one recurs from `after` (its completion)."""
    count = _count(rule_text)
    if count == 1:
        return None
    tz = ZoneInfo(zone) if zone else UTC
    if due is None:
        start = after.astimezone(tz).replace(tzinfo=None)
        if not has_time:
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    elif has_time:
        start = due.astimezone(tz).replace(tzinfo=None)
    else:  # a plain date: midnight UTC stands for the date itself
        start = due.replace(tzinfo=None)
    # Without COUNT (counted down above); a validated rule occurs within 28 years.
    following = (
        rrulestr(rule_text, dtstart=start, ignoretz=True)
        .replace(count=None)
        .after(start, inc=False)
    )
    if following is None:
        return None
    if count is not None:
        rule_text = re.sub(r"COUNT=\d+", f"COUNT={count - 1}", rule_text)
    if not has_time:
        return following.replace(tzinfo=UTC), rule_text
    return following.replace(tzinfo=tz).astimezone(UTC), rule_text


def _count(rule_text: str) -> int | None:
    match = re.search(r"(?:^|;)COUNT=(\d+)", rule_text)
    return int(match.group(1)) if match else None


def occurrence_id(client_id: str, due: datetime) -> str:
    """The next occurrence's id: the same for every device that completes this one."""
    digest = hashlib.sha256(f"{client_id}\n{due.isoformat()}".encode()).hexdigest()
    return f"r-{digest[:24]}"
