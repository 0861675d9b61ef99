"""core.local_time: a typed time, with or without a zone, read one way for the app and the CLI."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidInput
from core.local_time import example_time, parse_time, zone_label

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-02 09:00", datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),
        ("2026-12-02T09:00:30", datetime(2026, 12, 2, 8, 0, 30, tzinfo=UTC)),
        ("  2026-07-02 09:00 ", datetime(2026, 7, 2, 7, 0, tzinfo=UTC)),  # summer: +02:00
        ("2026-12-02T09:00Z", datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
        ("2026-12-02 09:00+05:30", datetime(2026, 12, 2, 3, 30, tzinfo=UTC)),
        # clocks go back: 02:30 happens twice; the first (still summer time) is meant
        ("2026-10-25 02:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_time_without_a_zone_is_the_given_zones(text, expected):
    # in UTC: an ambiguous local time never equals a time of another zone (PEP 495)
    assert parse_time(text, BERLIN).astimezone(UTC) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("next tuesday", "'next tuesday' is not an ISO-8601 time: write YYYY-MM-DD HH:MM"),
        ("", "is not an ISO-8601 time"),
        ("2026-03-29 02:30", "doesn't exist in Europe/Berlin: the clocks skip that hour"),
        ("0001-01-01 00:00", "can't be read in Europe/Berlin: out of range"),
    ],
)
def test_refusals_say_why(text, says):
    with pytest.raises(InvalidInput, match=says):
        parse_time(text, BERLIN)


@pytest.fixture
def machine_zone(monkeypatch):
    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


def test_no_zone_given_means_the_machines(machine_zone):
    machine_zone("Europe/Berlin")
    assert parse_time("2026-12-02 09:00") == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="doesn't exist in Europe/Berlin"):
        parse_time("2026-03-29 02:30")
    assert zone_label(None, datetime(2026, 12, 1, tzinfo=UTC)) == "Europe/Berlin, UTC+01:00"
    machine_zone("CET-1CEST,M3.5.0,M10.5.0/3")  # a POSIX rule, no zone name
    assert zone_label(None, datetime(2026, 7, 1, tzinfo=UTC)) == "CEST, UTC+02:00"


def test_zone_labels():
    winter, summer = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    assert zone_label(BERLIN, winter) == "Europe/Berlin, UTC+01:00"
    assert zone_label(BERLIN, summer) == "Europe/Berlin, UTC+02:00"
    assert zone_label(UTC, winter) == "UTC"
    assert zone_label(ZoneInfo("Etc/UTC"), winter) == "UTC"
    assert zone_label(timezone(timedelta(hours=-3, minutes=-30)), winter) == "UTC-03:30"
    assert zone_label(ZoneInfo("Asia/Kolkata"), winter) == "Asia/Kolkata, UTC+05:30"


def test_the_example_is_tomorrow_at_nine_in_the_zone():
    late = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # already the 3rd in Berlin
    assert example_time(late, BERLIN) == datetime(2026, 11, 4, 9, 0, tzinfo=BERLIN)
    assert example_time(late, UTC) == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert example_time(late, BERLIN) > late
