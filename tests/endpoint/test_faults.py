"""Nothing answered is lost: the server killed with SIGKILL under load, and the database
stopped under load. Every hit the clients got an answer for is in the database exactly once
afterwards (each load request carries a User-Agent of its own, to be found by)."""

from __future__ import annotations

import signal
import time

import httpx
import psycopg
import pytest
from sqlalchemy import text

from core import figures
from core.store import Database
from tests.endpoint.server import Load, make_world, start_server

pytestmark = pytest.mark.slow

_STORED = """
SELECT user_agent, count(*) FROM email_tracking
WHERE user_agent LIKE 'load-%' GROUP BY user_agent
"""


def stored(db: Database) -> dict[str, int]:
    with db.reading() as session:
        return dict(session.execute(text(_STORED)).all())


def assert_each_answer_stored_once(db: Database, answered: list[str]) -> None:
    assert len(answered) == len(set(answered))
    found = stored(db)
    missing = [a for a in answered if a not in found]
    assert not missing, f"{len(missing)} answered hits not in the database: {missing[:5]}"
    twice = {a: n for a, n in found.items() if n > 1}
    assert not twice, f"stored more than once: {list(twice.items())[:5]}"
    with db.transaction() as session:
        assert figures.recount(session) == ()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_sigkill_under_load_loses_no_answered_hit(db, db_url, tmp_path):
    world = make_world(db, 40)
    spool = tmp_path / "spool"
    server = start_server(db_url, spool)
    paths = [world.open_path(rid) for rid in world.recipients]
    load = Load(server.url, paths, clients=12).start()
    try:
        load.wait_for(60)
        server.stop(signal.SIGKILL)
        killed_at = len(load.answered)
        # The same port again, so the clients (still trying) carry on against the new one.
        server = start_server(db_url, spool, port=port_of(server.url))
        load.wait_for(killed_at + 30)
    finally:
        answered = load.stop()
    assert server.stop() == 0, server.stderr()
    assert_each_answer_stored_once(db, answered)


def test_database_stopped_under_load_answers_from_the_spool_and_replays(own_server, tmp_path):
    url = own_server.new_database("cc_ep_down")
    db = Database(url)
    world = make_world(db, 40)
    server = start_server(url, tmp_path / "spool")
    paths = [world.open_path(rid) for rid in world.recipients]
    load = Load(server.url, paths, clients=12).start()
    try:
        load.wait_for(40)
        own_server.stop()
        stopped_at = len(load.answered)
        load.wait_for(stopped_at + 60)  # answered while the database is away: spooled
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 503
        depth = httpx.get(f"{server.url}/healthz", timeout=10).json()["spool_depth"]
        assert depth > 0
        own_server.start()
        restarted_at = len(load.answered)
        load.wait_for(restarted_at + 40)
    finally:
        answered = load.stop()
        own_server.start()
    deadline = time.monotonic() + 15
    while httpx.get(f"{server.url}/healthz", timeout=10).json()["spool_depth"]:
        assert time.monotonic() < deadline, "the spool was never replayed"
        time.sleep(0.1)
    assert server.stop() == 0, server.stderr()
    assert_each_answer_stored_once(db, answered)
    db.close()


def test_a_spool_left_by_a_killed_server_is_adopted_and_replayed(own_server, tmp_path):
    """The database away, hits spooled, the server SIGKILLed: a new server of two workers
    (one adopts the dead one's file; the other finds it held) replays it once."""
    url = own_server.new_database("cc_ep_adopt")
    db = Database(url)
    world = make_world(db, 20)
    spool = tmp_path / "spool"
    server = start_server(url, spool)
    load = Load(server.url, [world.open_path(rid) for rid in world.recipients], clients=8)
    load.start()
    try:
        load.wait_for(10)
        own_server.stop()
        load.wait_for(len(load.answered) + 30)  # spooled
    finally:
        answered = load.stop()
        server.stop(signal.SIGKILL)
        own_server.start()
    assert any(spool.iterdir())
    server = start_server(url, spool, "--workers", "2")
    deadline = time.monotonic() + 15
    while len(stored(db)) < len(answered):
        assert time.monotonic() < deadline, "the dead server's spool was never replayed"
        time.sleep(0.1)
    assert server.stop() == 0, server.stderr()
    assert list(spool.iterdir()) == []
    assert_each_answer_stored_once(db, answered)
    db.close()


def test_a_batch_stuck_on_a_lock_is_spooled_answered_and_replayed(db, db_url, tmp_path):
    world = make_world(db, 2)
    rid = world.recipients[0]
    server = start_server(db_url, tmp_path / "spool", "--write-timeout", "0.5")
    try:
        with psycopg.connect(db_url) as locker:  # another transaction holds the campaign
            locker.execute(
                "SELECT id FROM campaigns WHERE id = %s FOR UPDATE", (world.campaign_pk,)
            )
            r = httpx.get(f"{server.url}{world.open_path(rid)}", timeout=10)
            assert r.status_code == 200  # answered from the spool, not held
            assert httpx.get(f"{server.url}/healthz", timeout=10).json()["spool_depth"] == 1
            with db.reading() as session:
                assert (
                    session.scalar(
                        text(
                            "SELECT count(*) FROM email_tracking WHERE campaign_recipient_id = :r"
                        ),
                        {"r": rid},
                    )
                    == 0
                )
        deadline = time.monotonic() + 15
        while httpx.get(f"{server.url}/healthz", timeout=10).json()["spool_depth"]:
            assert time.monotonic() < deadline, "never replayed after the lock went"
            time.sleep(0.1)
    finally:
        assert server.stop(signal.SIGHUP) == 0, server.stderr()  # a hang-up stops it cleanly
    with db.reading() as session:
        assert (
            session.scalar(
                text("SELECT count(*) FROM email_tracking WHERE campaign_recipient_id = :r"),
                {"r": rid},
            )
            == 1
        )
