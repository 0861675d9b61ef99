"""Helpers of the fault tests: run the CLI in a process of its own, watch its transaction on
the server, and wait for the server to forget it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from core.store import libpq_url

REPO = Path(__file__).resolve().parents[2]
APP_NAME = "campaign-console"  # core.store.db.make_engine's application_name

# A statement of a write transaction in flight (not the start-up checks, which only read).
_WRITING = """
SELECT pid, left(query, 60) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = %s AND state = 'active'
  AND pid <> pg_backend_pid() AND query !~* '^\\s*(SELECT|BEGIN|SHOW)'
"""
_CLIENTS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()
"""


def cli_process(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args, "--database-url", url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_write(url: str, process: subprocess.Popen, timeout: float = 60) -> str:
    """Block until `process` has a write statement running on the server; returns its text."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(_WRITING, (APP_NAME,)).fetchone()
            if row is not None:
                return row[1]
            if process.poll() is not None:
                out, err = process.communicate()
                raise AssertionError(f"finished before it wrote anything: {out} {err}")
            time.sleep(0.005)
    raise AssertionError("no write statement seen")


def wait_until_forgotten(url: str, timeout: float = 60) -> None:
    """Until the server has no backend left for the app (a killed client's backend ends, and
    rolls back, once its statement is done and it finds the socket closed)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        while conn.execute(_CLIENTS, (APP_NAME,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed client's backend is still there"
            time.sleep(0.05)


def csv_file(path: Path, rows: int, domain: str) -> Path:
    path.write_text(
        "email,name\n" + "".join(f"u{i}@{domain},User {i}\n" for i in range(rows)),
        encoding="utf-8",
    )
    return path


def campaign(url: str, campaign_id: str, recipients: int = 0, status: str = "draft") -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO campaigns (campaign_id, name, status) VALUES (%s, %s, %s)",
            (campaign_id, campaign_id, status),
        )
        if recipients:
            conn.execute(
                "INSERT INTO leads (email) SELECT 'lead' || g || '@faults.test'"
                " FROM generate_series(1, %s) g",
                (recipients,),
            )
            conn.execute(
                "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status,"
                " sent_at) SELECT c.id, l.id, l.email, 'sent', now() - interval '1 hour'"
                " FROM leads l, campaigns c WHERE c.campaign_id = %s",
                (campaign_id,),
            )


async def until(predicate, timeout: float = 20.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@contextmanager
def small_tmpfs(options: str, prefix: str) -> Iterator[Path]:
    """A tmpfs mounted with `options` (size=256k, mode=0700...): a disk that fills up.
    Skips the test where it can't be mounted (not root); unmounted and removed after."""
    mount = Path(tempfile.mkdtemp(prefix=prefix))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"can't mount a small tmpfs to fill ({done.stderr.strip()}): needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()
