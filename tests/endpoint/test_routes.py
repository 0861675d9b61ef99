"""The endpoint as a real process, driven over HTTP: what each route answers, and what it
wrote to the database (events, recipient timestamps and status, counters and rollup)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import text

from core import figures, tracking
from core.endpoint.pages import PIXEL
from core.events import recipient_timeline
from tests.endpoint.server import LINKS
from tui.cli.main import main

_EVENTS = """
SELECT event_type, source, user_agent, host(ip_address), event_data, dedup_key
FROM email_tracking WHERE campaign_recipient_id = :rid ORDER BY id
"""


def events_of(db, rid):
    with db.reading() as session:
        return [tuple(r) for r in session.execute(text(_EVENTS), {"rid": rid})]


def recipient(db, rid):
    with db.reading() as session:
        return session.execute(
            text("SELECT opened_at, clicked_at, status FROM campaign_recipients WHERE id = :rid"),
            {"rid": rid},
        ).one()


def event_count(db) -> int:
    with db.reading() as session:
        return session.scalar(text("SELECT count(*) FROM email_tracking"))


def assert_counts_equal_recount(db) -> None:
    # recount() reports every counter and rollup figure that disagreed with the rows.
    with db.transaction() as session:
        assert figures.recount(session) == ()


def test_an_open_answers_the_pixel_and_records_one_event(client, module_db, world):
    rid = world.recipients[0]
    r = client.get(world.open_path(rid), headers={"User-Agent": "Mail/1.0 (test)"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/gif"
    assert r.content == PIXEL
    assert "no-store" in r.headers["cache-control"]
    (event,) = events_of(module_db, rid)
    assert event[:4] == ("open", "pixel", "Mail/1.0 (test)", "127.0.0.1")
    assert re.fullmatch(r"hit:[0-9a-f]{32}", event[5])
    first = recipient(module_db, rid).opened_at
    assert first is not None
    # A second open is a second event; the first open's time stays.
    assert client.get(world.open_path(rid)).content == PIXEL
    assert [e[0] for e in events_of(module_db, rid)] == ["open", "open"]
    assert recipient(module_db, rid).opened_at == first
    with module_db.reading() as session:
        timeline = recipient_timeline(session, rid)
    assert [e.event_type for e in timeline.events] == ["open", "open"]
    assert_counts_equal_recount(module_db)


def test_a_click_redirects_to_the_campaigns_own_link_and_counts_as_an_open(
    client, module_db, world
):
    rid = world.recipients[1]
    position = world.positions[1]
    r = client.get(world.click_path(rid, position))
    assert r.status_code == 302
    assert r.headers["location"] == LINKS[1]
    (event,) = events_of(module_db, rid)
    assert event[:2] == ("click", "link")
    assert event[4]["link_url"] == LINKS[1]
    row = recipient(module_db, rid)
    assert row.clicked_at is not None and row.opened_at is not None
    # From the cache the second time: the same answer.
    assert client.get(world.click_path(rid, position)).headers["location"] == LINKS[1]
    assert_counts_equal_recount(module_db)


def test_a_bad_click_is_a_404_page_never_a_redirect(client, module_db, world):
    rid = world.recipients[0]
    good = world.click_path(rid, world.positions[0])
    token = good.split("/")[-3]
    before = event_count(module_db)
    bad = [
        good.replace(f"/click/{world.positions[0]}", f"/click/{world.positions[1]}"),  # other link
        good.replace(token, token[:-3]),  # truncated
        good.replace(token, token[:10] + ("A" if token[10] != "A" else "B") + token[11:]),
        good.replace(token, world.token(rid)),  # the open token: signed without a link
        f"{good}?url=https://evil.example.net/",
        good.replace(f"/click/{world.positions[0]}", "/click/99999"),
        good.replace(f"/click/{world.positions[0]}", "/click/x"),
    ]
    for path in bad:
        r = client.get(path)
        if "?url=" in path:  # a good token: the query is ignored, the target is ours
            assert r.status_code == 302 and r.headers["location"] == LINKS[0]
            continue
        assert r.status_code == 404, path
        assert "location" not in r.headers
        assert r.headers["content-type"].startswith("text/html")
    assert event_count(module_db) == before + 1  # only the good token's click


def test_a_link_the_campaign_does_not_have_is_404(client, module_db, world):
    token = tracking.sign(world.ring, world.campaign_pk, world.recipients[0], 77)
    r = client.get(f"{tracking.TRACK_PREFIX}/{token}/click/77")
    assert r.status_code == 404 and "location" not in r.headers
    assert events_of(module_db, world.recipients[0]) == []


def test_unsubscribe_page_writes_nothing_and_its_form_unsubscribes(client, module_db, world):
    rid = world.recipients[2]
    page = client.get(world.unsubscribe_path(rid))
    assert page.status_code == 200
    assert '<form method="post" action="">' in page.text
    assert events_of(module_db, rid) == []
    done = client.post(world.unsubscribe_path(rid), data={"confirm": "yes"})
    assert done.status_code == 200 and "unsubscribed" in done.text
    (event,) = events_of(module_db, rid)
    assert event[:2] == ("unsubscribe", "unsubscribe-page")
    assert recipient(module_db, rid).status == "unsubscribed"
    assert_counts_equal_recount(module_db)


def test_one_click_unsubscribe_rfc_8058(client, module_db, world):
    rid = world.recipients[3]
    r = client.post(
        world.unsubscribe_path(rid),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200
    (event,) = events_of(module_db, rid)
    assert event[:2] == ("unsubscribe", "one-click")
    assert recipient(module_db, rid).status == "unsubscribed"
    with module_db.reading() as session:
        email = session.scalar(
            text("SELECT email_address FROM campaign_recipients WHERE id = :r"), {"r": rid}
        )
        suppressed = session.scalar(
            text("SELECT count(*) FROM suppressions WHERE email_address = :e"), {"e": email}
        )
    assert suppressed == 1
    assert_counts_equal_recount(module_db)


def test_a_post_without_the_one_click_field_unsubscribes_nobody(client, module_db, world):
    rid = world.recipients[4]
    for body in (b"", b"List-Unsubscribe=No", b"confirm=no"):
        r = client.post(
            world.unsubscribe_path(rid),
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 400
    assert client.post(world.unsubscribe_path(rid)[:-12] + "x/unsubscribe").status_code == 404
    assert events_of(module_db, rid) == []
    assert recipient(module_db, rid).status == "sent"


def _from(address: str, server) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=10)


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(server, module_db, world):
    spoof = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    rid = world.recipients[0]
    with _from("127.0.0.1", server) as untrusted:
        untrusted.get(world.open_path(rid), headers=spoof)
    with _from("127.0.0.2", server) as proxy:  # --trusted-proxy 127.0.0.2/32
        proxy.get(world.open_path(rid), headers=spoof)
        # The proxy's own address and a chain of trusted hops are skipped, right to left.
        proxy.get(world.open_path(rid), headers={"X-Forwarded-For": "192.0.2.5, 127.0.0.2"})
        proxy.get(world.open_path(rid), headers={"X-Forwarded-For": "not-an-ip"})
    ips = [e[3] for e in events_of(module_db, rid)]
    assert ips == ["127.0.0.1", "203.0.113.9", "192.0.2.5", "127.0.0.2"]


def test_healthz_and_metrics(client, world):
    assert client.get(world.open_path(world.recipients[0])).status_code == 200
    client.get("/api/v1/campaigns/track/AAAA/open")  # refused
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["database"] == "ok"
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = metrics.text
    assert re.search(
        r'cc_endpoint_hits_total\{worker="\d+",kind="open",outcome="recorded"\} \d', body
    )
    assert re.search(r'cc_endpoint_refused_tokens_total\{worker="\d+",kind="open"\} [1-9]', body)
    assert "cc_endpoint_batch_size_bucket{worker=" in body
    assert "cc_endpoint_commit_seconds_count" in body
    assert re.search(r"cc_endpoint_spool_depth\{worker=\"\d+\"\} 0", body)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_other_methods_are_refused(client, world, method):
    r = client.request(method, world.open_path(world.recipients[0]))
    assert r.status_code == 405


def test_serve_saved_its_public_url(server, module_db):
    from tests.endpoint.conftest import PUBLIC_URL

    with module_db.reading() as session:
        assert tracking.public_url(session) == PUBLIC_URL


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--public-url", "ftp://x/"), "public URL"),
        (("--spool-dir", "/proc/self/no/spool"), "Can't keep a spool in /proc/self/no/spool"),
    ],
)
def test_serve_refuses_bad_settings_before_starting(module_db_url, args, said, capsys):
    # The command itself, in this process: it refuses before it would listen.
    assert main(["serve", "--port", "0", *args, "--database-url", module_db_url]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines()[-1].startswith("error: ") and said in err
    assert "Listening" not in out


def test_the_served_app_carries_the_providers_webhooks(client):
    # (core.endpoint.webhooks' own tests drive them fully.) Postmark is not configured in
    # this server's environment; SES needs no secret and refuses a body that isn't JSON.
    assert client.post("/api/v1/webhooks/postmark", json={}).status_code == 404
    assert client.post("/api/v1/webhooks/ses", content=b"not json").status_code == 400
