"""Hostile input through the `campaigns` command: each refusal exits non-zero with a one-line
message on stderr (never a traceback) and leaves the database exactly as it was."""

from __future__ import annotations

import json
import time

import pytest

from tests.reliability.conftest import unchanged
from tests.reliability.hostile import World, make_world
from tui.cli import main


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


def run_cli(capsys, url: str, *args: str) -> tuple[int, str, str]:
    try:
        code = main([*args, "--database-url", url])
    except SystemExit as exc:  # argparse refuses before anything runs
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def jsonl(*objects) -> bytes:
    return "".join(json.dumps(o) + "\n" for o in objects).encode()


OPEN = {"event_type": "open", "campaign": "camp_spring", "email_address": "ana@example.com"}
DEEP = b"[" * 100_000 + b"]" * 100_000 + b"\n"

# (id, arguments ({dir} is a scratch directory), files to write there, exit code, stderr says)
CASES = [
    ("stats-unknown-campaign", ["stats", "camp_nope"], {}, 1, "No campaign 'camp_nope'"),
    ("status-unknown-action", ["status", "camp_draft", "launch"], {}, 2, "invalid choice"),
    ("status-pause-a-draft", ["status", "camp_draft", "pause"], {}, 1, "Can't pause camp_draft"),
    ("schedule-without-at", ["status", "camp_evil", "schedule"], {}, 1, "needs --at"),
    (
        "schedule-at-garbage",
        ["status", "camp_evil", "schedule", "--at", "next tuesday"],
        {},
        1,
        "is not an ISO-8601 time",
    ),
    (
        "schedule-at-in-the-past",
        ["status", "camp_evil", "schedule", "--at", "2001-01-01T00:00Z"],
        {},
        1,
        "is not in the future",
    ),
    (
        "import-missing-file",
        ["import-recipients", "camp_draft", "{dir}/nope.csv"],
        {},
        1,
        "Can't read",
    ),
    (
        "import-latin-1",
        ["import-recipients", "camp_draft", "{dir}/l1.csv"],
        {"l1.csv": "email\nrené@example.com\n".encode("latin-1")},
        1,
        "Line 2 is not UTF-8",
    ),
    ("import-a-directory", ["import-recipients", "camp_draft", "{dir}"], {}, 1, "Can't read"),
    (
        "import-into-completed",
        ["import-recipients", "camp_done", "{dir}/ok.csv"],
        {"ok.csv": b"zed@example.com\n"},
        1,
        "it is completed",
    ),
    ("track-missing-file", ["track", "{dir}/nope.jsonl"], {}, 1, "Can't read"),
    (
        "track-not-utf-8",
        ["track", "{dir}/bad.jsonl"],
        {"bad.jsonl": b'\xff\xfe{"event_type": "open"}\n'},
        1,
        "not UTF-8",
    ),
    (
        "track-not-json",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": b"{event_type: open}\n"},
        1,
        "Line 1: not JSON",
    ),
    (
        "track-array",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": b"[1, 2, 3]\n"},
        1,
        "expected a JSON object",
    ),
    (
        "track-deeply-nested",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": DEEP},
        1,
        "nested too deeply",
    ),
    (
        "track-1-megabyte-event-data",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": jsonl(OPEN | {"event_data": {"blob": "x" * 1_000_000}})},
        1,
        "the limit is 16,384 bytes",
    ),
    (
        "track-unknown-key",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": jsonl(OPEN | {"evil": 1})},
        1,
        "unknown key 'evil'",
    ),
    (
        "track-time-not-iso",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": jsonl(OPEN | {"created_at": "yesterday"})},
        1,
        "is not an ISO-8601 time",
    ),
    (
        "track-time-without-zone",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": jsonl(OPEN | {"created_at": "2026-11-01T10:00:00"})},
        1,
        "has no time zone",
    ),
    (
        "track-time-as-number",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": jsonl(OPEN | {"created_at": 1700000000})},
        1,
        "must be an ISO-8601 string",
    ),
    (
        "track-nul-in-user-agent",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": jsonl(OPEN | {"user_agent": "a\u0000b"})},
        1,
        "NUL character",
    ),
    (
        "track-nan-in-event-data",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": b'{"event_type": "open", "recipient_id": 1, "event_data": {"v": NaN}}\n'},
        1,
        "can't be stored as JSON",
    ),
    (
        "track-one-bad-line-of-three",
        ["track", "{dir}/e.jsonl"],
        {"e.jsonl": jsonl(OPEN, OPEN | {"event_type": "explode"}, OPEN)},
        1,
        # core's message as it is, naming the file's line
        "Nothing was recorded: 1 of 3 events can't be stored (line 2: unknown event type "
        "'explode'",
    ),
    (
        "export-two-campaigns",
        ["export", "camp_spring", "camp_done", "--what", "recipients"],
        {},
        1,
        "takes exactly one campaign id",
    ),
]


@pytest.mark.parametrize(
    ("args", "files", "code", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_cli_refuses_with_a_message_and_changes_nothing(
    world: World, capsys, tmp_path, args, files, code, says
):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    args = [a.replace("{dir}", str(tmp_path)) for a in args]
    with unchanged(world.url):
        got, out, err = run_cli(capsys, world.url, *args)
    assert got == code
    assert says in err
    assert "Traceback" not in err and out == ""


def test_an_unusable_url_is_a_message_with_the_password_masked(capsys):
    url = "postgresql://ops:Sup3rSecret@127.0.0.1:notaport/campaigns"
    code, out, err = run_cli(capsys, url, "stats")
    assert code == 1 and "Not a usable PostgreSQL URL" in err
    assert "Sup3rSecret" not in err + out and "ops:***@" in err


def test_a_100000_row_csv_that_goes_bad_on_its_last_line_adds_nothing(world, capsys, tmp_path):
    """The whole file is read before anything is written: a bad byte at the very end of a
    100,000-row file refuses all of it. (A 100,000-row import that succeeds takes ~20 s here,
    twenty indexes on campaign_recipients; it runs in `make soak`.)"""
    path = tmp_path / "big.csv"
    rows = "".join(f"user{i}@big.example.com,User {i},Co {i % 97}\n" for i in range(100_000))
    path.write_bytes(
        b"email,name,company\n" + rows.encode() + "last@exämple.com\n".encode("latin-1")
    )
    started = time.perf_counter()
    with unchanged(world.url):
        code, out, err = run_cli(capsys, world.url, "import-recipients", "camp_draft", str(path))
    assert (code, out) == (1, "") and "Line 100002 is not UTF-8" in err
    assert time.perf_counter() - started < 30
