"""The issue-6 scripting commands end to end: reclassify, suppression, export of links/stats."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text

from tui import cli


@pytest.fixture
def run(ids, db_url, capsys):
    """`campaigns ...` on the fixed TUI data."""

    def call(*args: str) -> tuple[int, str, str]:
        code = cli.main([*args, "--database-url", db_url])
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def test_reclassify_marks_stored_events(run, db, ids):
    with db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO email_tracking (campaign_recipient_id, event_type, user_agent,"
                " ip_address) VALUES (:r, 'open', 'Mozilla/5.0', '17.5.5.5')"
            ),
            {"r": ids["ana"]},
        )
    code, out, _ = run("reclassify", "camp_spring")
    assert code == 0 and out.startswith("1 event changed verdict in camp_spring")
    code, out, _ = run("reclassify", "--too-fast", "0")
    assert code == 0 and out.startswith("0 events changed verdict in all campaigns")
    assert "too-fast window off" in out
    code, _, err = run("reclassify", "camp_nope")
    assert code == 1 and "camp_nope" in err


def test_suppression_list_add_lift(run):
    code, out, _ = run("suppression", "list", "--json")
    listed = json.loads(out)
    # The seed's permanent bounce (olga) was listed by the database's trigger.
    assert code == 0 and [(r["reason"], r["campaign"]) for r in listed] == [
        ("hard_bounce", "camp_spring")
    ]
    code, out, _ = run("suppression", "add", "Someone@Example.com", "--reason", "complaint")
    assert code == 0 and out.strip() == "suppressed Someone@Example.com"
    code, out, _ = run("suppression", "add", "someone@example.com")
    assert "already suppressed" in out
    code, out, _ = run("suppression", "list", "--search", "someone")
    assert code == 0 and "Someone@Example.com  complaint" in out  # as given (0009)
    code, out, _ = run("suppression", "lift", "SOMEONE@example.com")
    assert code == 0 and "lifted" in out
    code, _, err = run("suppression", "lift", "someone@example.com")
    assert code == 1 and "not suppressed" in err
    code, _, err = run("suppression", "add", "not-an-address")
    assert code == 1 and "needs an @" in err


def test_export_links_and_stats(run, tmp_path):
    code, out, _ = run("export", "camp_spring", "--what", "links")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["url"] == "https://example.com/spring?utm_source=email"
    assert rows[0]["share"] == "100.0"
    target = tmp_path / "stats.json"
    code, _, err = run("export", "--what", "stats", "--all", "--format", "json", "-o", str(target))
    names = {row["campaign_id"] for row in json.loads(target.read_text())}
    assert code == 0 and "wrote" in err and {"camp_spring", "camp_evil"} <= names
    code, out, _ = run("export", "camp_spring", "camp_evil", "--what", "stats")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 2


def test_export_argument_rules(run, tmp_path):
    code, _, err = run("export", "camp_spring", "camp_evil", "--what", "links")
    assert code == 1 and "exactly one campaign" in err
    code, _, err = run("export", "--what", "stats")
    assert code == 1 and "--all" in err
    code, _, err = run("export", "camp_spring", "--all", "--what", "stats")
    assert code == 1
    out = str(tmp_path / "x.csv")
    code, _, err = run("export", "camp_spring", "camp_nope", "--what", "stats", "-o", out)
    assert code == 1 and "camp_nope" in err and not list(tmp_path.iterdir())
