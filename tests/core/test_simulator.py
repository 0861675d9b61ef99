"""The simulator: sends, events, pause, completion, in fake time (no sleeping)."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text

from core import figures
from core.campaigns import transition
from core.demo import MAX_DELAY, Simulator
from core.store import Database
from tests.factories import make_campaign, make_recipients

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def campaign(db, campaign_id: str, n: int, status: str = "running", **fields) -> int:
    if status in ("running", "paused"):
        fields["started_at"] = T0 - timedelta(hours=1)
    with db.transaction() as s:
        c = make_campaign(s, campaign_id, status=status, **fields)
        if n:
            make_recipients(s, c, n)
        return c.id


def statuses(db_url: str, campaign_id: str) -> dict[str, int]:
    with psycopg.connect(db_url) as conn:
        return dict(
            conn.execute(
                "SELECT r.status, count(*) FROM campaign_recipients r JOIN campaigns c"
                " ON c.id = r.campaign_id WHERE c.campaign_id = %s GROUP BY 1",
                (campaign_id,),
            ).fetchall()
        )


def one(db_url: str, query: str, *params):
    with psycopg.connect(db_url) as conn:
        return conn.execute(query, params).fetchone()


def events_of(db_url: str, campaign_id: str) -> int:
    return one(
        db_url,
        "SELECT count(*) FROM email_tracking e JOIN campaign_recipients r"
        " ON r.id = e.campaign_recipient_id JOIN campaigns c ON c.id = r.campaign_id"
        " WHERE c.campaign_id = %s",
        campaign_id,
    )[0]


def run(sim: Simulator, start: datetime, seconds: float, step: float = 1.0):
    now, results = start, []
    while now < start + timedelta(seconds=seconds):
        now += timedelta(seconds=step)
        results.append(sim.step(now))
    return now, results


def test_a_running_campaign_is_sent_its_events_recorded_and_counters_move(db, db_url):
    campaign(db, "camp_run", 120)
    sim = Simulator(db, rate=400, seed=1)
    now, results = run(sim, T0, 20)
    assert sum(r.claimed for r in results) == 120
    left = statuses(db_url, "camp_run")
    assert "pending" not in left and "queued" not in left
    assert left["sent"] + left.get("failed", 0) + left.get("bounced", 0) > 100
    run(sim, now, 600, step=10)
    sent, opened, clicked = one(
        db_url,
        "SELECT emails_sent, emails_opened, emails_clicked FROM campaigns"
        " WHERE campaign_id = 'camp_run'",
    )
    assert sent > 100 and opened > 20 and opened > clicked
    assert events_of(db_url, "camp_run") > opened
    with db.transaction() as s:
        assert figures.recount(s) == ()
    bad = one(
        db_url,
        "SELECT count(*) FILTER (WHERE e.created_at <= r.sent_at OR r.sent_at IS NULL),"
        " count(*) FILTER (WHERE e.event_data ->> 'machine_reason' = 'too-fast'),"
        " count(*) FILTER (WHERE e.event_data ->> 'machine_reason' = 'apple-mpp')"
        " FROM email_tracking e JOIN campaign_recipients r ON r.id = e.campaign_recipient_id",
    )
    # Events come after the send; compressed delays stay human (not "too fast") except the
    # Apple proxy's, which the rules recognise.
    assert bad[0] == 0 and bad[1] == 0 and bad[2] > 0
    sources = one(db_url, "SELECT array_agg(DISTINCT coalesce(source, '-')) FROM email_tracking")
    assert sources[0] == ["simulator"]  # every event says where it came from


def test_a_paused_campaign_gets_no_sends_and_no_events_until_resumed(db, db_url):
    campaign(db, "camp_p", 40)
    campaign(db, "camp_paused", 30, status="paused")
    sim = Simulator(db, rate=400, seed=2)
    now, _ = run(sim, T0, 3)
    assert set(statuses(db_url, "camp_paused")) == {"pending"}
    assert "pending" not in statuses(db_url, "camp_p")
    waiting = sum(c.outstanding for c in sim.campaigns.values())
    assert waiting > 0

    with db.transaction() as s:
        transition(s, "camp_p", "pause")
    recorded = events_of(db_url, "camp_p")
    now, results = run(sim, now, MAX_DELAY + 60, step=15)
    assert events_of(db_url, "camp_p") == recorded  # its due events wait
    assert sum(r.sent + r.claimed for r in results) == 0
    assert set(statuses(db_url, "camp_paused")) == {"pending"}

    with db.transaction() as s:
        transition(s, "camp_p", "resume")
        transition(s, "camp_paused", "resume")
    now, results = run(sim, now, 30, step=2)
    assert events_of(db_url, "camp_p") > recorded
    assert "pending" not in statuses(db_url, "camp_paused")


def test_a_campaign_completes_when_every_recipient_is_processed(db, db_url):
    campaign(db, "camp_done", 25)
    sim = Simulator(db, rate=400, seed=3)
    now, results = run(sim, T0, 5)
    assert one(db_url, "SELECT status FROM campaigns WHERE campaign_id = 'camp_done'")[0] == (
        "running"
    )
    now, more = run(sim, now, MAX_DELAY + 120, step=20)
    completed = [c for r in results + more for c in r.completed]
    assert completed == ["camp_done"]
    status, completed_at = one(
        db_url, "SELECT status, completed_at FROM campaigns WHERE campaign_id = 'camp_done'"
    )
    assert status == "completed" and T0 < completed_at <= now
    assert not sim.heap and not sim.campaigns
    assert not {"pending", "queued"} & set(statuses(db_url, "camp_done"))
    # Nothing more happens to it.
    before = events_of(db_url, "camp_done")
    run(sim, now, 60, step=20)
    assert events_of(db_url, "camp_done") == before


def test_only_the_named_campaign_or_the_demo_campaigns(db, db_url):
    campaign(db, "camp_a", 10)
    campaign(db, "camp_b", 10)
    campaign(db, "demo_c", 10)
    campaign(db, "demo_users_own", 10)  # named like the demo's, but a user made it
    with psycopg.connect(db_url, autocommit=True) as conn:  # what the demo seeder marks
        conn.execute(
            "INSERT INTO demo_campaigns SELECT id FROM campaigns WHERE campaign_id = 'demo_c'"
        )
    run(Simulator(db, "camp_a", rate=200, seed=4), T0, 3)
    assert "pending" not in statuses(db_url, "camp_a")
    assert set(statuses(db_url, "camp_b")) == set(statuses(db_url, "demo_c")) == {"pending"}
    run(Simulator(db, rate=200, seed=5, demo_only=True), T0, 3)
    assert "pending" not in statuses(db_url, "demo_c")
    assert set(statuses(db_url, "camp_b")) == {"pending"}
    assert set(statuses(db_url, "demo_users_own")) == {"pending"}


def test_scheduled_campaigns_start_when_their_time_comes(db, db_url):
    campaign(db, "camp_s", 5, status="scheduled", scheduled_at=T0 + timedelta(seconds=10))
    campaign(db, "camp_empty", 0, status="scheduled", scheduled_at=T0 + timedelta(seconds=5))
    sim = Simulator(db, rate=100, seed=6)
    assert sim.step(T0).started == ()
    _, results = run(sim, T0, 12)
    assert [c for r in results for c in r.started] == ["camp_s"]
    status, started_at = one(
        db_url, "SELECT status, started_at FROM campaigns WHERE campaign_id = 'camp_s'"
    )
    assert status == "running" and T0 + timedelta(seconds=10) <= started_at
    assert one(db_url, "SELECT status FROM campaigns WHERE campaign_id = 'camp_empty'")[0] == (
        "scheduled"  # no recipients: it can't start, and the simulator doesn't insist
    )


def test_queued_recipients_a_dead_sender_left_are_sent(db, db_url):
    campaign(db, "camp_q", 6)
    with db.transaction() as s:
        s.execute(text("UPDATE campaign_recipients SET status = 'queued'"))
    sim = Simulator(db, rate=100, seed=7)
    r = sim.step(T0)
    assert r.sent + r.failed == 6
    assert not {"pending", "queued"} & set(statuses(db_url, "camp_q"))


def test_about_rate_writes_per_second(db):
    campaign(db, "camp_big", 3000)
    sim = Simulator(db, rate=100, seed=8)
    _, results = run(sim, T0, 10, step=0.5)
    writes = sum(r.claimed + r.events for r in results)
    assert 0.7 * 100 * 10 <= writes <= 100 * (10 + 2)


def test_run_stops_when_asked_and_rides_out_an_unreachable_database(db, caplog):
    sim = Simulator(db, rate=50, seed=9)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    sim.run(stop_event=stop, tick=0.05)
    assert time.monotonic() - started < 3

    dead = Database("postgresql://nobody@/no_such_db?host=/nonexistent&connect_timeout=1")
    try:
        with caplog.at_level(logging.WARNING, logger="core.demo.simulator"):
            Simulator(dead, rate=50).run(duration=1.5, tick=0.05)
    finally:
        dead.close()
    assert "database unavailable" in caplog.text and "retrying" in caplog.text
    assert "Traceback" not in caplog.text


def test_background_simulator_starts_once_and_stops(db_url, tmp_path, monkeypatch):
    from tui.cli import background

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    pid = background.start_background(db_url)
    try:
        assert background.pid_file().read_text().split() == [str(pid)]
        log = background.log_file()
        # Not a second one while the first is alive (also in the moment right after its start,
        # when its command line still reads empty).
        assert background.start_background(db_url) == pid, log.read_text()
        deadline = time.monotonic() + 20
        while "simulating" not in background.log_file().read_text():
            assert time.monotonic() < deadline, background.log_file().read_text()
            time.sleep(0.2)
    finally:
        assert background.stop_background() == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not background.pid_file().exists()
    assert "stopped" in background.log_file().read_text()
