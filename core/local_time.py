"""Times a person types (the app's schedule form, `campaigns status ID schedule --at`): one rule
for both. A time with a zone or offset (`Z`, `+01:00`) means that moment; a time without one is
read in the local zone: the zone the app shows its times in (and names in the form), which for
the CLI is the machine's zone (TZ). A local time the clocks skip (summer time starting) is
refused; one they pass twice (summer time ending) is the first of the two."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, time, timedelta, tzinfo

from core.errors import InvalidInput

FORMAT = "YYYY-MM-DD HH:MM"
EXAMPLE_AT = time(9, 0)  # the example the form offers: tomorrow at 09:00
_ZONE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")


def _localize(naive: datetime, tz: tzinfo | None) -> datetime:
    """`naive` as a time of `tz` (None: the machine's zone, by the C library's rules)."""
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()


def parse_time(text: str, tz: tzinfo | None = None) -> datetime:
    """An aware datetime from ISO-8601 text ('2026-12-02 09:00', a T instead of the space,
    seconds optional, a zone optional). Without a zone the time is read in `tz` (None: the
    machine's local zone). InvalidInput when the text is no such time."""
    cleaned = text.strip()
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(
            f"{cleaned!r} is not an ISO-8601 time: write {FORMAT}, in {zone_name(tz)} unless"
            " you add a zone (like +01:00 or Z)."
        ) from None
    if value.tzinfo is not None:
        return value
    try:
        aware = _localize(value, tz)
        in_utc = aware.astimezone(UTC)  # through UTC: astimezone(tz) of a tz time is itself
        back = in_utc.astimezone(tz) if tz is not None else in_utc.astimezone()
    except (OverflowError, ValueError, OSError):
        raise InvalidInput(f"{cleaned} can't be read in {zone_name(tz)}: out of range.") from None
    if back.replace(tzinfo=None) != value:
        raise InvalidInput(
            f"{cleaned} doesn't exist in {zone_name(tz)}: the clocks skip that hour (summer"
            " time starts)."
        )
    return aware


def example_time(now: datetime, tz: tzinfo | None = None) -> datetime:
    """A time to offer as an example: tomorrow at 09:00 in `tz`, always in the future."""
    local = now.astimezone(tz) if tz is not None else now.astimezone()
    return _localize(datetime.combine(local.date() + timedelta(days=1), EXAMPLE_AT), tz)


def _machine_zone_name() -> str | None:
    """The machine's zone as a name like 'Europe/Berlin' (from TZ or /etc/localtime), or None."""
    setting = os.environ.get("TZ")
    if setting is not None:  # set: it decides, even when it is no zone name (a POSIX rule)
        name = setting.lstrip(":")
        return name if _ZONE_KEY.fullmatch(name) else None
    _, found, key = os.path.realpath("/etc/localtime").partition("/zoneinfo/")
    return key if found and _ZONE_KEY.fullmatch(key) else None


def _zone_key(tz: tzinfo | None) -> str | None:
    key = getattr(tz, "key", None) if tz is not None else _machine_zone_name()
    if key in {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu"}:
        return "UTC"
    return key


def zone_name(tz: tzinfo | None, at: datetime | None = None) -> str:
    """'Europe/Berlin' for a zone with a name, else its abbreviation at `at` (default now)."""
    moment = at or datetime.now(UTC)
    local = moment.astimezone(tz) if tz is not None else moment.astimezone()
    return _zone_key(tz) or local.tzname() or utc_offset(local)


def utc_offset(at: datetime) -> str:
    """'UTC+01:00' for an aware time."""
    offset = at.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds()) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_label(tz: tzinfo | None, at: datetime) -> str:
    """'Europe/Berlin, UTC+01:00': the zone and its offset at `at`; just 'UTC' for UTC."""
    local = at.astimezone(tz) if tz is not None else at.astimezone()
    name, offset = zone_name(tz, at), utc_offset(local)
    if name == offset:
        return offset
    if name == "UTC" and offset == "UTC+00:00":
        return "UTC"
    return f"{name}, {offset}"
