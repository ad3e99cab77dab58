"""Database helpers shared by the apps: retrying a unit of work that lost a deadlock, settings for
the rest of a transaction, and COPY through Django's connection."""

import contextlib
import functools
import logging
import random
import time

from django.conf import settings
from django.db import OperationalError, connection
from psycopg import errors

logger = logging.getLogger("linkdo.db")

DEADLOCK_ATTEMPTS = 4


def set_local_sql(values: dict[str, str]) -> str:
    """One statement text giving each setting its value (a constant of the code, or DEFAULT) for
    the rest of the transaction: `SET LOCAL`, not set_config(), because on Citus (LINKDO_CITUS) a
    SET LOCAL is what reaches the workers that run the transaction's statements, once
    `citus.propagate_set_commands` is `local` (set first, in the same statement)."""
    parts = [
        f"SET LOCAL {name} = "
        + (value if value == "DEFAULT" else "'{}'".format(value.replace("'", "''")))
        for name, value in values.items()
    ]
    if settings.LINKDO_CITUS:
        parts.insert(0, "SET LOCAL citus.propagate_set_commands = 'local'")
    return "; ".join(parts)


def lost_a_lock_race(exc: BaseException) -> bool:
    """A deadlock or serialization failure: PostgreSQL rolled the transaction back, and running it
    again is safe; it is not an outage."""
    cause = exc.__cause__ or exc
    return isinstance(cause, errors.DeadlockDetected | errors.SerializationFailure)


def retry_on_deadlock(func):
    """Run `func` again (up to DEADLOCK_ATTEMPTS times, with a short random pause) when PostgreSQL
    chose it as a deadlock's victim. Only outside a transaction: inside one, the outer block was
    rolled back too and must be retried as a whole."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if (
                    attempt == DEADLOCK_ATTEMPTS
                    or connection.in_atomic_block
                    or not lost_a_lock_race(exc)
                ):
                    raise
                logger.warning("deadlock in %s, attempt %d: retrying", func.__qualname__, attempt)
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")

    return wrapper


@contextlib.contextmanager
def copy(statement):
    """A COPY (psycopg's `cursor.copy`) through Django's connection handling, like any query: a
    stale connection is noticed and replaced, and a lost database is Django's OperationalError
    (503), not a raw psycopg error (500) that left the broken connection in place. Logged like a
    query when Django logs queries, so query budgets (`django_assert_num_queries`) count it."""
    started = time.monotonic()
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement) as stream,
    ):
        yield stream
    if connection.queries_logged:
        text = statement if isinstance(statement, str) else statement.as_string(cursor.cursor)
        connection.queries_log.append({"sql": text, "time": f"{time.monotonic() - started:.3f}"})


def copy_into_temp_table(name: str, columns: str, payload: bytes) -> None:
    """Fill the session's temporary table `name` (`columns` as in CREATE TABLE) with a binary COPY
    `payload` (linkdo.pgbinary): created on first use, emptied at commit and before every fill (a
    caller may fill it twice in one transaction). The bulk writes read from it with one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DELETE ROWS; "
            f"TRUNCATE {name}"
        )
    with copy(f"COPY {name} FROM STDIN (FORMAT BINARY)") as stream:
        stream.write(payload)
