"""The real `campaigns` command, as a subprocess, where the environment goes wrong: each case
is a one-line error on stderr and a non-zero exit, never a traceback, and nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from core import store
from tests.reliability.conftest import unchanged
from tests.reliability.hostile import World, make_world

CAMPAIGNS = str(Path(sys.executable).with_name("campaigns"))
BAD = b"caf\xe9"  # Latin-1, not UTF-8
HUGE = b'{"event_type": "open", "recipient_id": ' + b"9" * 4301 + b"}\n"


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


def run(args: list, url: str, tmp_path: Path, *, stdout=subprocess.PIPE, stdin=None):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), DATABASE_URL=url)
    child = subprocess.Popen(
        [CAMPAIGNS, *args], stdout=stdout, stderr=subprocess.PIPE, stdin=stdin, env=env
    )
    out, err = child.communicate(timeout=60)
    return child.returncode, out or b"", err.decode("utf-8", "replace")


def one_line_error(code: int, err: str, says: str) -> None:
    assert code not in (0, None), err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert says in lines[0], err


# (id, arguments ({dir}: a scratch directory), files there, the message says)
CASES = [
    ("track-4301-digits", ["track", "{dir}/huge.jsonl"], {"huge.jsonl": HUGE}, "Line 1"),
    # How export writes its file is another change's (issue 19.7); any one line will do here.
    ("export-o-directory", ["export", "camp_spring", "-o", "{dir}"], {}, ""),
    (
        "export-o-missing-directory",
        ["export", "camp_spring", "-o", "{dir}/nope/out.csv"],
        {},
        "",
    ),
    (
        "export-o-under-a-file",
        ["export", "camp_spring", "-o", "{dir}/file/out.csv"],
        {"file": b"x"},
        "",
    ),
]
for _command in (
    ["stats", BAD],
    ["track", BAD],
    ["import-recipients", "camp_draft", BAD],
    ["export", BAD],
    ["recount", BAD],
    ["status", BAD, "pause"],
    ["suppression", "add", BAD],
    ["suppression", "list", "--search", BAD],
    ["reclassify", BAD],
    ["simulate", BAD, "--duration", "1"],
):
    _name = "-".join(a for a in _command[:2] if isinstance(a, str))
    CASES.append((f"not-utf-8-{_name}", _command, {}, "not UTF-8"))


@pytest.mark.parametrize(
    ("args", "files", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_one_line_message(world: World, tmp_path, args, files, says):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    args = [a.replace("{dir}", str(tmp_path)) if isinstance(a, str) else a for a in args]
    with unchanged(world.url):
        code, _, err = run(args, world.url, tmp_path)
    one_line_error(code, err, says.replace("{dir}", str(tmp_path)))


@pytest.mark.parametrize("what", ["full", "closed"])
def test_stdout_full_or_closed(world: World, tmp_path, what):
    if what == "full":
        with open("/dev/full", "wb") as full:
            code, _, err = run(
                ["export", "camp_spring", "--what", "events"], world.url, tmp_path, stdout=full
            )
        one_line_error(code, err, "No space left on device")
        return
    read, write = os.pipe()
    os.close(read)  # `| head` that has already gone
    try:
        code, _, err = run(["export", "camp_spring"], world.url, tmp_path, stdout=write)
    finally:
        os.close(write)
    one_line_error(code, err, "standard output was closed")


@pytest.mark.parametrize(
    ("query", "says"),
    [("badparam=1", "badparam"), ("connect_timeout=x", "connect_timeout")],
)
def test_a_bad_url_parameter(world: World, tmp_path, query, says):
    url = world.url + ("&" if "?" in world.url else "?") + query
    code, _, err = run(["stats"], url, tmp_path)
    one_line_error(code, err, says)


@pytest.mark.parametrize("args", [["stats"], ["db", "upgrade"], ["db", "downgrade"], ["recount"]])
def test_a_database_newer_than_this_program(db_url, tmp_path, args):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    code, _, err = run(args, db_url, tmp_path)
    one_line_error(code, err, "a newer version of Campaign Console migrated it")


def test_read_only_on_a_schema_behind_head(empty_db_url, tmp_path):
    behind = store.revisions()[-2]
    store.upgrade(empty_db_url, behind)
    with unchanged(empty_db_url):
        code, _, err = run(["--read-only", "stats"], empty_db_url, tmp_path)
    one_line_error(code, err, f"at {behind}, behind this program's")
