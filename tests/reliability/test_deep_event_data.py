"""Deeply nested event_data (issue 19.8): 6.9 KB of JSON nested 980 deep, within the 16 KiB
limit, was pretty-printed by the timeline to 1.9 MB and the app spun for minutes. The
timeline shows a bounded text and says what it cut; `track` refuses nesting deeper than
core.events.input.MAX_EVENT_DATA_DEPTH; exports still write such an event (stored by another
program) whole."""

from __future__ import annotations

import io
import json
from datetime import UTC

import psycopg
import pytest

from core import figures
from core.events import MAX_EVENT_DATA_DEPTH, EventInput, InvalidEvents, record_events
from tests.reliability.conftest import unchanged
from tests.reliability.hostile import World, make_world
from tests.reliability.test_hostile_cli import OPEN, jsonl, run_cli
from tests.tui.conftest import settle
from tests.tui.data import NOW
from tui import json_view
from tui.app import CampaignConsoleApp
from tui.screens.timeline import TimelineScreen
from tui.widgets.table import ResponsiveTable


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


def nested_text(depth: int) -> str:
    """{"a": {"a": ... {} ...}} as JSON text, `depth` objects deep (built without recursion)."""
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def nested(depth: int) -> dict:
    data: dict = {}
    for _ in range(depth - 1):
        data = {"a": data}
    return data


def store(world: World, name: str, event_data: str) -> int:
    """An event written with plain SQL, as another program may: no checks of ours."""
    with psycopg.connect(world.url) as conn:
        return conn.execute(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type, event_data)"
            " VALUES (%s, 'reply', %s) RETURNING id",
            (world.recipient[name], event_data),
        ).fetchone()[0]


async def shown_json(world: World, name: str, event_id: int) -> str:
    app = CampaignConsoleApp(world.db, tz=UTC, clock=lambda: NOW, label="test", live=False)
    async with app.run_test(size=(100, 40)) as pilot:
        app.push_screen(TimelineScreen(world.recipient[name]))
        await settle(pilot)
        table = app.screen.query_one("#events", ResponsiveTable)
        table.move_cursor(row=table.get_row_index(str(event_id)))
        await settle(pilot)
        return str(app.screen.query_one("#json").render())


async def test_the_timeline_shows_a_980_deep_event_as_stored_and_says_so(world: World):
    """Too deep for Python's json (core.store.jsonb.DeepJson): one line as stored, not laid out."""
    text = nested_text(980)
    assert 6_000 < len(text) < 16 * 1024
    event_id = store(world, "ana", text)
    shown = await shown_json(world, "ana", event_id)
    assert len(shown) < 8_000
    assert "(nested 980 levels deep, shown as stored) " + text in shown


async def test_the_timeline_shows_the_first_levels_of_a_deep_event(world: World):
    event_id = store(world, "ana", nested_text(60))
    shown = await shown_json(world, "ana", event_id)
    # The timeline's own object, then event_data's first levels, then a note of the rest.
    assert shown.count('"a": {') == json_view.MAX_DEPTH - 1
    assert f"{{… {60 - json_view.MAX_DEPTH + 1} more levels}}" in shown


async def test_the_timeline_cuts_a_wide_event_and_says_how_much(world: World):
    wide = json.dumps({f"key{i:06d}": "v" * 40 for i in range(5_000)})  # 270 KB, plain SQL
    event_id = store(world, "ines", wide)
    shown = await shown_json(world, "ines", event_id)
    assert len(shown) < 20_000
    assert '"key000000": "' in shown and '"key004999"' not in shown
    assert shown.rstrip().endswith("KB)") and "(cut at 16 KB of " in shown


def test_track_refuses_nesting_deeper_than_the_limit(world: World, capsys, tmp_path):
    path = tmp_path / "e.jsonl"
    ok = OPEN | {"event_data": nested(MAX_EVENT_DATA_DEPTH)}
    path.write_bytes(jsonl(ok, OPEN | {"event_data": nested(MAX_EVENT_DATA_DEPTH + 1)}))
    with unchanged(world.url):
        code, out, err = run_cli(capsys, world.url, "track", str(path))
    assert (code, out) == (1, "") and "Traceback" not in err
    assert (
        f"line 2: event_data is nested {MAX_EVENT_DATA_DEPTH + 1} levels deep;"
        f" the limit is {MAX_EVENT_DATA_DEPTH}"
    ) in err


def test_core_refuses_nesting_python_itself_cannot_serialise(world: World):
    """5,000 levels: json.dumps would raise RecursionError; the depth check comes first."""
    events = [EventInput("open", recipient_id=world.recipient["ana"], event_data=nested(5_000))]
    with unchanged(world.url), pytest.raises(InvalidEvents, match="nested 5,000 levels deep"):
        world.db.run(lambda s: record_events(s, events))


@pytest.mark.parametrize("fmt", figures.FORMATS)
def test_exports_write_a_deep_stored_event_whole(world: World, fmt):
    store(world, "ana", nested_text(980))
    out = io.StringIO()
    with world.db.reading() as session:
        assert figures.export(session, "camp_spring", "events", fmt, out) > 0
    assert '{"a": {"a": {"a":' in out.getvalue().replace('""', '"')
