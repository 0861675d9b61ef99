"""Terminal escapes from `export` to a terminal (issue 19.9): ESC, BEL and C1 bytes from user
agents, bounce texts, URLs and names, an OSC 52 clipboard write among them, reached the
terminal raw. On a terminal (a real pty here) they are shown as \\x1b, as the app shows
them; to a file or a pipe the export stays byte-exact."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.reliability.hostile import World, make_world

ROOT = Path(__file__).resolve().parents[2]
OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # would put "rm -rf ~" on the clipboard
HOSTILE_UA = f"Mozilla{OSC52}\u009b2J\x1b[31mred\x7f"
BOUNCE = "550 \x1b]0;pwned\x07 no such user\u0085"


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    with psycopg.connect(w.url) as conn:
        conn.execute(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type, user_agent,"
            " event_data) VALUES (%s, 'click', %s, %s)",
            (w.recipient["ana"], HOSTILE_UA, '{"link_url": "https://x.test/\\u001b[5m"}'),
        )
        conn.execute(
            "UPDATE campaign_recipients SET error_message = %s WHERE id = %s",
            (BOUNCE, w.recipient["ines"]),
        )
    yield w
    w.db.close()


def run_on_a_pty(*args: str) -> str:
    """The command's stdout as a terminal shows it: run with a pty as its stdout."""
    main, child = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=subprocess.PIPE,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    return b"".join(chunks).decode("utf-8")


def _raw_controls(text: str) -> set[str]:
    return {c for c in text if (ord(c) < 0x20 and c not in "\r\n\t") or 0x7F <= ord(c) < 0xA0}


@pytest.mark.parametrize("what", ["events", "recipients"])
@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_export_to_a_terminal_shows_escapes_never_runs_them(world: World, what, fmt):
    shown = run_on_a_pty(
        "export", "camp_spring", "--what", what, "--format", fmt, "--database-url", world.url
    )
    assert _raw_controls(shown) == set()
    if what == "events":
        assert "52;c;cm0gLXJmIH4=" in shown and "[31mred" in shown
    else:
        assert "no such user" in shown and "pwned" in shown


def test_export_to_a_pipe_is_byte_exact(world: World):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "export",
            "camp_spring",
            "--what",
            "events",
            "--database-url",
            world.url,
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode())))
    assert HOSTILE_UA in {r["user_agent"] for r in rows}
