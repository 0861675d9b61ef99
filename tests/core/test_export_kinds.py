"""The link-table and stats exports (CSV with formula neutralising, JSON lines), several
campaigns at once, and the progress callback of every export kind."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InvalidInput, NotFound
from core.events import EventInput, record_events
from core.figures import exports
from tests.factories import make_campaign, make_recipients

T = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LATER = T + timedelta(hours=1)
EVIL_URL = '=HYPERLINK("http://evil.test","x")'


@pytest.fixture
def data(db):
    with db.transaction() as s:
        c = make_campaign(s, "camp_links", name="+SUM(A1:A9)")
        ids = make_recipients(s, c, 4, status="sent", sent_at=T)
        make_campaign(s, "camp_two", name="Second")
        clicks = [
            (ids[0], "https://a.test/"),
            (ids[0], "https://a.test/"),
            (ids[1], "https://a.test/"),
            (ids[2], EVIL_URL),
            (ids[3], None),
        ]
        record_events(
            s,
            [
                EventInput(
                    "click",
                    recipient_id=rid,
                    created_at=LATER,
                    event_data={"link_url": url} if url else None,
                )
                for rid, url in clicks
            ]
            + [EventInput("open", recipient_id=ids[0], created_at=LATER)],
        )
    return ids


def _export(db, what, fmt, campaign="camp_links", **kw):
    out = io.StringIO()
    with db.reading() as s:
        n = exports.export(s, campaign, what, fmt, out, **kw)
    return n, out.getvalue()


def test_links_csv_has_shares_and_neutralised_cells(db, data):
    n, text = _export(db, "links", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert n == 3 and list(rows[0]) == list(exports.LINK_FIELDS)
    first = {"url": "https://a.test/", "unique_clicks": "2", "total_clicks": "3", "share": "60.0"}
    assert rows[0] == first
    # Ties (one click each) come by url, the link-less clicks last.
    assert [r["url"] for r in rows[1:]] == ["'" + EVIL_URL, ""]
    assert [r["share"] for r in rows[1:]] == ["20.0", "20.0"]


def test_links_json_keeps_values_as_they_are(db, data):
    _, text = _export(db, "links", "json")
    rows = json.loads(text)
    assert rows[1] == {"url": EVIL_URL, "unique_clicks": 1, "total_clicks": 1, "share": 20.0}
    assert rows[2]["url"] is None


def test_stats_of_one_campaign_has_every_field(db, data):
    n, text = _export(db, "stats", "csv")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert n == 1 and tuple(row) == exports.STAT_FIELDS
    assert row["name"] == "'+SUM(A1:A9)"  # a campaign name that looks like a formula
    assert (row["campaign_id"], row["emails_sent"], row["unique_clicks"]) == (
        "camp_links",
        "4",
        "4",
    )
    assert (row["status"], row["human_clicks"], row["human_click_rate"]) == ("draft", "4", "100.0")
    assert row["scheduled_at"] == "" and row["created_at"].startswith("20")
    for field in ("human_open_rate", "machine_opens", "hard_bounces", "click_to_open_rate"):
        assert field in row


def test_stats_of_several_or_all_campaigns(db, data):
    out = io.StringIO()
    with db.reading() as s:
        assert exports.export_stats(s, ["camp_two", "camp_links", "camp_two"], "json", out) == 2
        rows = json.loads(out.getvalue())
        assert [r["campaign_id"] for r in rows] == ["camp_two", "camp_links"]
        assert rows[0]["open_rate"] == 0.0 and rows[1]["click_rate"] == 100.0
        everything = io.StringIO()
        assert exports.export_stats(s, None, "csv", everything) == 2
        with pytest.raises(NotFound):
            exports.export_stats(s, ["camp_two", "camp_nope"], "csv", io.StringIO())
        with pytest.raises(InvalidInput, match="at least one"):
            exports.export_stats(s, [], "csv", io.StringIO())
        with pytest.raises(InvalidInput, match="csv, json or jsonl"):
            exports.export_stats(s, None, "xlsx", io.StringIO())
    names = [r["campaign_id"] for r in csv.DictReader(io.StringIO(everything.getvalue()))]
    assert names == ["camp_links", "camp_two"]  # oldest first


@pytest.mark.parametrize(
    ("what", "rows", "total"),
    [("recipients", 4, 4), ("events", 6, None), ("links", 3, 3), ("stats", 1, 1)],
)
def test_progress_is_reported_with_the_total_where_known(db, data, what, rows, total):
    calls = []
    n, _ = _export(db, what, "csv", on_progress=lambda done, of: calls.append((done, of)))
    assert n == rows
    assert calls[0] == (0, total) and calls[-1] == (rows, rows)


def test_progress_every_thousand_rows(db, monkeypatch):
    calls = []
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    rows = iter({"a": i} for i in range(5))
    exports.write(rows, ("a",), "json", io.StringIO(), on_progress=lambda *a: calls.append(a))
    assert calls == [(0, None), (2, None), (4, None), (5, 5)]


def test_unknown_campaign_is_refused_before_anything_is_written(db, data):
    for what in exports.WHATS:
        out = io.StringIO()
        with db.reading() as s, pytest.raises(NotFound):
            exports.export(s, "camp_nope", what, "csv", out)
        assert out.getvalue() == "", what
