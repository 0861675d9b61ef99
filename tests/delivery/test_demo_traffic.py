"""The demo on the real path: `campaigns demo` starts an SMTP sink, `campaigns serve` and
`campaigns send` in the background (tui.cli.background.start_real_traffic); the sink's
recipients open and click by fetching the pixel and links of the messages they received, so
the events are recorded by the endpoint (source pixel/link), not written by a simulator.
`campaigns simulate --stop` stops all of them."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from core.demo import demo_campaign_ids, seed_demo
from core.demo.inbox import bounces, read_message
from tests.factories import make_campaign
from tui.cli import background

SEEN = text(
    "SELECT count(*) FILTER (WHERE t.event_type = 'open' AND t.source = 'pixel'),"
    " count(*) FILTER (WHERE t.event_type = 'click' AND t.source = 'link'),"
    " count(DISTINCT t.user_agent)"
    " FROM email_tracking t JOIN campaign_recipients r ON r.id = t.campaign_recipient_id"
    " JOIN demo_campaigns m ON m.campaign_id = r.campaign_id"
)
SENT = text(
    "SELECT count(*) FROM campaign_recipients r JOIN demo_campaigns m"
    " ON m.campaign_id = r.campaign_id WHERE r.sent_at IS NOT NULL"
)


def test_real_path_demo_sends_to_the_sink_whose_recipients_open_and_click(
    db, db_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    seed_demo(db)
    with db.reading() as s:
        campaigns = sorted(demo_campaign_ids(s))
    with db.reading() as s:
        before = s.scalar(SENT)
        assert not any(s.execute(SEEN).one()[:2])  # the seeded events are the simulator's
    pids = background.start_real_traffic(db_url, campaigns, rate=40)
    try:
        assert set(pids) == {"sink", "serve", "send"}
        for name, pid in pids.items():
            assert background.pid_file(name).read_text().split() == [str(pid)]
        # Not a second set while the first runs.
        assert background.start_real_traffic(db_url, campaigns) in ({"sink": pids["sink"]},)
        deadline = time.monotonic() + 90
        while True:
            with db.reading() as s:
                opens, clicks, agents = s.execute(SEEN).one()
                sent = s.scalar(SENT) - before
            received = "received" in background.log_file("sink").read_text()
            if sent and received and opens and clicks:
                break
            logs = {n: background.log_file(n).read_text()[-2000:] for n in pids}
            assert time.monotonic() < deadline, (sent, opens, clicks, logs)
            time.sleep(0.5)
        assert agents >= 2  # mail clients' user agents, not one library's
    finally:
        assert background.stop_background() == 0
    for name, pid in pids.items():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert not background.pid_file(name).exists()
    assert "stopped" in background.log_file("sink").read_text()


def test_on_a_database_url_the_demo_starts_the_direct_simulator(
    db, db_url, tmp_path, monkeypatch, capsys
):
    from tui.cli import main

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with db.transaction() as s:  # one demo campaign is enough (demo_campaigns lists it)
        pk = make_campaign(s, "demo_one").id
        s.execute(text("INSERT INTO demo_campaigns (campaign_id) VALUES (:c)"), {"c": pk})
    assert main(["demo", "--database-url", db_url, "--if-empty"]) == 0
    err = capsys.readouterr().err
    assert "embedded database only: starting the direct simulator" in err
    assert "Simulator started" in err
    pid = int(background.pid_file("simulator").read_text())
    assert not background.pid_file("sink").exists()
    assert background.stop_background() == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_sink_bounces_a_steady_share_and_reads_the_tracking_urls():
    addresses = [f"user{i}@example.com" for i in range(4000)]
    share = sum(map(bounces, addresses)) / len(addresses)
    assert 0.008 < share < 0.025
    assert bounces(addresses[0]) == bounces(addresses[0].upper())
    raw = (
        b"X-Campaign-Console-Campaign: demo_x\r\nList-Unsubscribe: <http://h/t/a/unsubscribe>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n"
        b'<a href="http://h/t/a/click/0">x</a><a href="mailto:a@b">m</a>'
        b'<img src="http://h/t/a/open"></body>'
    )
    got = read_message(raw)
    assert got is not None
    assert (got.campaign_id, got.pixel, got.clicks, got.unsubscribe) == (
        "demo_x",
        "http://h/t/a/open",
        ("http://h/t/a/click/0",),
        "http://h/t/a/unsubscribe",
    )
    assert read_message(b"Subject: hi\r\n\r\nplain") is None
