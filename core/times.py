"""Times the database can hold: PostgreSQL's timestamptz and Python's datetime agree on years
1 to 9999 in UTC, and PostgreSQL takes UTC offsets under 16 hours in whole seconds. A time
outside that was once stored and then broke every read of its campaign (issue 19.5), so every
time that comes in is checked here first (check_aware; core.events.input words its own
refusals from time_problem)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import InvalidInput

MAX_OFFSET = timedelta(hours=16)  # exclusive: PostgreSQL refuses +16:00 and -16:00


def _offset(delta: timedelta) -> str:
    sign = "-" if delta < timedelta(0) else "+"
    seconds = abs(delta)
    hours, rest = divmod(seconds, timedelta(hours=1))
    minutes, rest = divmod(rest, timedelta(minutes=1))
    text = f"{sign}{hours:02d}:{minutes:02d}"
    if rest:
        text += f":{rest.total_seconds():09.6f}".rstrip("0").rstrip(".")
    return text


def time_problem(value: datetime) -> str | None:
    """Why an aware `value` can't be stored and read back, or None when it can."""
    offset = value.utcoffset()
    if offset is None:
        return None  # the callers refuse a time without a zone in their own words
    if offset.microseconds:
        return (
            f"has the UTC offset {_offset(offset)}, with a fraction of a second; "
            "offsets are whole seconds (like +01:00)"
        )
    if abs(offset) >= MAX_OFFSET:
        return f"has the UTC offset {_offset(offset)}; offsets go from -15:59:59 to +15:59:59"
    try:
        value.astimezone(UTC)
    except OverflowError:
        edge = "before year 1" if offset > timedelta(0) else "after year 9999"
        return f"is {edge} in UTC; times go from year 1 to 9999 (UTC)"
    return None


def check_aware(value: Any, what: str) -> datetime:
    """value if it is a datetime with a zone the database can store; InvalidInput naming
    `what` otherwise."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a date and time, not {value!r}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{what} {value.isoformat()} has no time zone; give one (like 2026-05-01T09:00+00:00)."
        )
    problem = time_problem(value)
    if problem is not None:
        raise InvalidInput(f"{what} {value.isoformat()} {problem}.")
    return value
