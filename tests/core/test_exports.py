import csv
import io
import json
from datetime import UTC, datetime

import pytest

from core import figures
from core.errors import InvalidInput, NotFound
from core.store import EmailTracking
from tests.factories import make_campaign, make_recipients

T = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def campaign(db):
    with db.transaction() as s:
        c = make_campaign(s, "camp_x")
        ids = make_recipients(s, c, 3, sent_at=T)
        make_recipients(s, make_campaign(s, "camp_other"), 2)
        s.add(
            EmailTracking(
                campaign_recipient_id=ids[0],
                event_type="click",
                created_at=T,
                event_data={"link_url": '=HYPERLINK("http://evil")'},
                ip_address="2001:db8::5",
                user_agent="@SUM(1+1)",
            )
        )
        s.add(EmailTracking(campaign_recipient_id=ids[1], event_type="open", created_at=T))
    return ids


def test_recipients_csv_has_every_recipient_of_the_campaign_only(db, campaign):
    out = io.StringIO()
    with db.reading() as s:
        assert figures.export(s, "camp_x", "recipients", "csv", out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [int(r["id"]) for r in rows] == campaign
    assert rows[0]["sent_at"] == T.isoformat() and rows[0]["status"] == "pending"


def test_events_json_lines_are_plain_json(db, campaign):
    out = io.StringIO()
    with db.reading() as s:
        assert figures.export(s, "camp_x", "events", "jsonl", out) == 2
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event_data"] == {"link_url": '=HYPERLINK("http://evil")'}
    assert first["ip_address"] == "2001:db8::5" and second["event_type"] == "open"


def test_csv_cells_that_look_like_formulas_are_neutralised(db, campaign):
    out = io.StringIO()
    with db.reading() as s:
        figures.export(s, "camp_x", "events", "csv", out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["user_agent"] == "'@SUM(1+1)"
    assert row["event_data"].startswith('{"link_url"')  # JSON text starts with {, left alone
    for value in ("=1+1", "+1", "-1", "@x", "\t=1"):
        assert figures.spreadsheet_safe(value).startswith("'")
    assert figures.spreadsheet_safe("plain") == "plain"


def test_keyset_batches_cover_everything(db, campaign):
    with db.reading() as s:
        assert [r["id"] for r in figures.iter_recipients(s, "camp_x", batch=2)] == campaign


def test_bad_arguments_are_refused(db, campaign):
    with db.reading() as s:
        with pytest.raises(InvalidInput, match="recipients or events"):
            figures.export(s, "camp_x", "leads", "csv", io.StringIO())
        with pytest.raises(InvalidInput, match="csv, json or jsonl"):
            figures.export(s, "camp_x", "events", "xml", io.StringIO())
        with pytest.raises(NotFound):
            figures.export(s, "camp_nope", "events", "csv", io.StringIO())
