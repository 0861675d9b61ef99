"""`campaigns --read-only COMMAND`: every command that can write is refused before it opens the
database, with a message and a non-zero exit; the few that only read run. The commands come
from the argparse parser itself, so a command added later is covered (and refused) without
editing this file; a new reading command must be named in READING here and registered as one
(with_db(..., reads_only=True) in tui.cli.common; a db action in tui.cli.db.READERS).
"""

from __future__ import annotations

import argparse

import pytest

from tests.reliability.conftest import unchanged
from tests.reliability.hostile import World, make_world
from tui.cli import background, main
from tui.cli.main import build_parser

# (command path, choice) that only read the database.
READING = {
    ("stats",),
    ("export",),
    ("suppression", "list"),
    ("tracking", "keys"),
    ("template", "list"),
    ("template", "show"),
    ("db", "current"),
    ("db", "check"),
    ("db", "backup"),  # pg_dump only reads; the file goes to the test's own directory
}
SAMPLE = {  # positional argument (its dest) -> a value that names something in the world
    "campaign": "camp_spring",
    "campaigns": "camp_spring",
    "email": "ana@example.com",
    "file": "{dir}/input",
    "revision": "base",
    "template": "Spring launch",  # tests/tui/data.seed's
}


def _runnable(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, argv) for every command of the parser, one per choice of a positional."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if subcommands:
        for name, sub in subcommands[0].choices.items():
            yield from _runnable(sub, (*path, name))
        return
    variants: list[tuple[tuple[str, ...], list[str]]] = [(path, list(path))]
    for action in parser._actions:
        if action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if action.choices:
            variants = [((*p, c), [*argv, c]) for p, argv in variants for c in action.choices]
        else:
            variants = [(p, [*argv, SAMPLE.get(action.dest, "x")]) for p, argv in variants]
    yield from variants


# `campaigns --read-only web` serves read-only apps until it is stopped, so it can't run here:
# tests/tui/test_web.py starts it as a process and checks that its apps get --read-only.
SERVING = {("web",)}
CASES = sorted(case for case in _runnable(build_parser()) if case[0] not in SERVING)


def test_the_cases_cover_every_command():
    tops = {path[0] for path, _ in CASES}
    assert {"db", "stats", "track", "import-recipients", "recount", "status"} <= tops
    assert {"demo", "simulate", "suppression", "reclassify", "export"} <= tops
    assert {path for path, _ in CASES} >= READING


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """Its own data directory, so a simulator a command might start is ours to stop."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    yield
    background.stop_background(timeout=5)


@pytest.mark.parametrize(("path", "argv"), CASES, ids=[" ".join(p) for p, _ in CASES])
def test_read_only_refuses_every_writing_command(
    world: World, data_home, tmp_path, capsys, monkeypatch, path, argv
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "input").write_text('{"event_type": "open", "recipient_id": 1}\n')
    argv = [a.replace("{dir}", str(tmp_path)) for a in argv]
    with unchanged(world.url):
        try:
            code = main(["--read-only", *argv, "--database-url", world.url])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        if path in READING:
            assert code == 0, err
        else:
            # bounces ingest answers an MTA: 75 (EX_TEMPFAIL) keeps the bounce for a retry.
            assert code == (75 if path == ("bounces", "ingest") else 1), (out, err)
            assert "--read-only was given: refused before anything was opened" in err
            assert out == ""
            assert not background.pid_file().exists(), "a simulator was started"


def test_alembic_engines_are_read_only_too(world: World):
    """Behind the refusal up front: in read-only mode core.store.schema's own engines (Alembic's)
    can't write either, should a command reach them."""
    from sqlalchemy.exc import DBAPIError

    from core import store

    store.read_only_everywhere(True)
    try:
        with unchanged(world.url), pytest.raises(DBAPIError, match="read-only transaction"):
            store.downgrade(world.url, "base")
    finally:
        store.read_only_everywhere(False)


def test_the_simulator_stops_on_a_read_only_session(world: World):
    """Should it run on a read-only session anyway (a standby server, say), it stops with a
    message instead of retrying refused writes for ever."""
    import time

    from core.demo import Simulator
    from core.errors import ReadOnly
    from core.store import Database

    database = Database(world.url, read_only=True)
    try:
        started = time.monotonic()
        with unchanged(world.url), pytest.raises(ReadOnly, match="session is read-only"):
            Simulator(database, rate=100, seed=1).run(duration=20)
        assert time.monotonic() - started < 10
    finally:
        database.close()
