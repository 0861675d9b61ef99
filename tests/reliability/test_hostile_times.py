"""Times PostgreSQL or Python can't hold (issue 19.5): an event at 0001-01-01T00:30+01:00 is
year 0 in UTC; stored, it broke every read of its campaign (recipients, timeline, event log,
exports). Such times, and offsets PostgreSQL refuses (+16:00 and over, fractions of a second),
are refused per line with its number, before anything is written, wherever a time comes in."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core import campaigns, figures
from core import events as analytics
from core.errors import InvalidInput
from core.events import EventInput, InvalidEvents, latest_events, record_events
from core.recipients import recipients_page
from tests.reliability.conftest import unchanged
from tests.reliability.hostile import World, make_world
from tests.reliability.test_hostile_cli import OPEN, jsonl, run_cli
from tui import format as fmt


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


# (time as JSON text, what the refusal says)
BAD_TIMES = [
    ("0001-01-01T00:30:00+01:00", "before year 1 in UTC"),
    ("9999-12-31T23:30:00-01:00", "after year 9999 in UTC"),
    ("2026-11-01T10:00:00+16:00", "offset +16:00"),
    ("2026-11-01T10:00:00-23:59", "offset -23:59"),
    ("2026-11-01T10:00:00+01:00:00.500000", "fraction of a second"),
]


@pytest.mark.parametrize(("when", "says"), BAD_TIMES, ids=[t for t, _ in BAD_TIMES])
def test_a_time_out_of_range_is_refused_per_line(world: World, capsys, tmp_path, when, says):
    path = tmp_path / "e.jsonl"
    path.write_bytes(jsonl(OPEN, OPEN | {"created_at": when}, OPEN))
    with unchanged(world.url):
        code, out, err = run_cli(capsys, world.url, "track", str(path))
    assert (code, out) == (1, "") and "Traceback" not in err
    assert "line 2:" in err and says in err


def test_skip_invalid_records_the_others_and_names_the_line(world: World, capsys, tmp_path):
    path = tmp_path / "e.jsonl"
    ok = OPEN | {"email_address": "ines@example.com", "created_at": "2026-11-01T10:00:00Z"}
    path.write_bytes(jsonl(ok, OPEN | {"created_at": BAD_TIMES[0][0]}, ok))
    code, out, err = run_cli(capsys, world.url, "track", "--skip-invalid", str(path))
    assert code == 0, err
    assert out.strip() == "recorded 2 events, skipped 1"
    assert "Line 2:" in err and "before year 1 in UTC" in err
    # The campaign still reads: its timeline and its exports.
    with world.db.reading() as session:
        timeline = analytics.recipient_timeline(session, world.recipient["ines"])
        assert timeline.events
        out_csv = io.StringIO()
        assert figures.export(session, "camp_spring", "events", "csv", out_csv) > 0


def test_core_refuses_the_time_before_writing(world: World):
    year0 = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    events = [EventInput("open", recipient_id=world.recipient["ana"], created_at=year0)]
    with unchanged(world.url), pytest.raises(InvalidEvents, match="line 1: created_at"):
        world.db.run(lambda s: record_events(s, events))
    with unchanged(world.url):
        result = world.db.run(lambda s: record_events(s, events, skip_invalid=True))
    assert result.recorded == 0 and [e.line for e in result.rejected] == [1]


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:30:00-01:00", "2099-01-01T09:00:00+16:00"], ids=["year", "offset"]
)
def test_schedule_at_refuses_the_same_times(world: World, capsys, when):
    with unchanged(world.url):
        code, out, err = run_cli(capsys, world.url, "status", "camp_evil", "schedule", "--at", when)
    assert (code, out) == (1, "") and "Traceback" not in err
    assert "year 9999" in err or "offset" in err


def test_core_schedule_refuses_an_offset_postgresql_refuses(world: World):
    at = datetime(2099, 1, 1, 9, tzinfo=timezone(timedelta(hours=16)))
    with unchanged(world.url), pytest.raises(InvalidInput, match="offset"):
        world.db.run(lambda s: campaigns.transition(s, "camp_evil", "schedule", at=at))


def test_the_edges_of_the_range_are_stored(world: World):
    """Year 1 and 9999 in UTC, and the widest offsets PostgreSQL takes, are legal."""
    rid = world.recipient["ana"]
    times = [
        datetime(1, 1, 1, 0, 30, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 30, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=15, minutes=59, seconds=59))),
        datetime(2026, 1, 1, tzinfo=timezone(-timedelta(hours=15, minutes=59))),
    ]
    events = [EventInput("reply", recipient_id=rid, created_at=t) for t in times]
    result = world.db.run(lambda s: record_events(s, events))
    assert result.recorded == 4
    with world.db.reading() as session:
        stored = {e.created_at for e in analytics.recipient_timeline(session, rid).events}
        assert set(times) <= stored
        # Every read of the campaign named in the issue still works.
        assert recipients_page(session, "camp_spring").rows
        assert latest_events(session, campaign="camp_spring")
        for what in ("recipients", "events"):
            assert figures.export(session, "camp_spring", what, "json", io.StringIO()) > 0


def test_the_edges_are_shown_in_any_display_zone():
    """9999-12-31T23:30Z is year 10000 an hour east of UTC: shown in UTC rather than fail."""
    late, early = datetime(9999, 12, 31, 23, 30, tzinfo=UTC), datetime(1, 1, 1, 0, 30, tzinfo=UTC)
    east, west = timezone(timedelta(hours=1)), timezone(-timedelta(hours=1))
    assert fmt.when(late, east) == "9999-12-31 23:30 UTC"
    assert fmt.when(early, west, seconds=True) == "0001-01-01 00:30:00 UTC"
    assert fmt.short_when(late, east) == "12-31 23:30 UTC"
