"""`--format json` is one JSON document, `--format jsonl` JSON lines (issue 11.8: json wrote
JSON lines, and json.load failed on it); both stream, and JSON escapes every control
character, C1 ones (U+009B, a terminal's CSI) included (issue 19.9), still reading back to the
same values."""

from __future__ import annotations

import io
import json

import psycopg
import pytest

from core import figures
from tests.reliability.hostile import World, make_world
from tests.reliability.test_hostile_cli import run_cli

HOSTILE_UA = "Mozilla\x1b]52;c;cm0gLXJmIH4=\x07\u009b31m\x7f"


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    with psycopg.connect(w.url) as conn:
        conn.execute(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type, user_agent)"
            " VALUES (%s, 'open', %s)",
            (w.recipient["ana"], HOSTILE_UA),
        )
        conn.execute(
            "UPDATE campaigns SET name = %s WHERE campaign_id = 'camp_spring'",
            ("Spring \u009b2J sale",),
        )
    yield w
    w.db.close()


@pytest.mark.parametrize("what", figures.WHATS)
def test_json_is_one_document_json_load_reads(world: World, capsys, tmp_path, what):
    target = tmp_path / "out.json"
    code, _, err = run_cli(
        capsys,
        world.url,
        "export",
        "camp_spring",
        "--what",
        what,
        "--format",
        "json",
        "-o",
        str(target),
    )
    assert code == 0, err
    with open(target) as f:
        rows = json.load(f)
    assert isinstance(rows, list) and rows and isinstance(rows[0], dict)


def test_json_of_no_rows_is_an_empty_array(world: World):
    out = io.StringIO()
    assert figures.write(iter(()), ("a",), "json", out) == 0
    assert json.loads(out.getvalue()) == []


def test_jsonl_is_one_object_a_line(world: World, capsys):
    code, out, err = run_cli(
        capsys, world.url, "export", "camp_spring", "--what", "events", "--format", "jsonl"
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) > 1 and all(isinstance(r, dict) for r in rows)


def test_json_streams_rows_as_they_come(world: World):
    """Each row is written before the next is read: nothing waits in memory for the end."""
    out = io.StringIO()

    def rows():
        for i in range(3):
            if i:
                assert out.getvalue().count('"a"') == i, "the previous row is not written yet"
            yield {"a": i}

    figures.write(rows(), ("a",), "json", out)
    assert json.loads(out.getvalue()) == [{"a": 0}, {"a": 1}, {"a": 2}]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_escapes_c0_and_c1_controls_and_reads_back(world: World, capsys, fmt):
    code, out, err = run_cli(
        capsys, world.url, "export", "camp_spring", "--what", "events", "--format", fmt
    )
    assert code == 0, err
    assert not any(0x7F <= ord(c) < 0xA0 or (ord(c) < 0x20 and c != "\n") for c in out)
    assert "\\u009b31m" in out and "\\u001b]52;" in out and "\\u007f" in out
    rows = json.loads(out) if fmt == "json" else [json.loads(line) for line in out.splitlines()]
    assert HOSTILE_UA in {r["user_agent"] for r in rows}


def test_stats_json_escapes_c1(world: World, capsys):
    code, out, err = run_cli(capsys, world.url, "stats", "camp_spring", "--json")
    assert code == 0, err
    assert "\u009b" not in out and "Spring \\u009b2J sale" in out
    assert json.loads(out)["name"] == "Spring \u009b2J sale"
