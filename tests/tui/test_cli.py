"""The scripting commands, end to end against a real database."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from core import recipients
from core.store import Campaign, EmailTracking
from tui.cli import main


@pytest.fixture
def cli(ids, db_url, capsys):
    """`campaigns ...` on the fixed data (the ids fixture seeds it)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--database-url", db_url])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def events(db) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(EmailTracking))


def test_stats_json_uses_the_seed_names(cli):
    code, out, _ = cli("stats", "camp_spring", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["campaign_id"] == "camp_spring"
    assert data["total_recipients"] == 21 and data["emails_sent"] == 17
    assert data["open_rate"] == pytest.approx(9 * 100 / 17)
    assert {"click_rate", "reply_rate", "bounce_rate", "emails_bounced"} <= data.keys()
    code, out, _ = cli("stats", "--json")
    assert {c["campaign_id"] for c in json.loads(out)} >= {"camp_spring", "camp_done"}


def test_import_recipients_says_how_many_suppressed_addresses_it_skipped(cli, db, tmp_path):
    with db.transaction() as s:
        recipients.suppress(s, "Gone@Example.com", "unsubscribe")
    path = tmp_path / "r.csv"
    path.write_text("email\nzoe@example.com\ngone@example.com\n")
    code, out, _ = cli("import-recipients", "camp_draft", str(path))
    assert code == 0 and "imported 1 recipients" in out and "1 suppressed and skipped" in out


def test_stats_of_an_unknown_campaign_fails_on_stderr(cli):
    code, out, err = cli("stats", "camp_nope")
    assert code == 1 and out == "" and "camp_nope" in err


def test_import_recipients_reports_bad_lines(cli, db, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("email,name\nzoe@example.com,Zoe\nbroken\n")
    code, out, err = cli("import-recipients", "camp_draft", str(path))
    assert code == 0 and "imported 1 recipients" in out and "line 3" in err
    with db.reading() as s:
        assert (
            s.scalar(select(Campaign.total_recipients).where(Campaign.campaign_id == "camp_draft"))
            == 1
        )


def test_track_is_all_or_nothing_unless_skip_invalid(cli, db, tmp_path, ids):
    lines = [
        {"event_type": "open", "campaign": "camp_spring", "email_address": "ines@example.com"},
        {"event_type": "explode", "recipient_id": ids["ana"]},
        {
            "event_type": "click",
            "recipient_id": ids["ana"],
            "event_data": {"link_url": "u"},
            "ip_address": "198.51.100.4",
            "created_at": "2026-11-02T10:00:00Z",
        },
    ]
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    before = events(db)
    code, out, err = cli("track", str(path))
    assert code == 1 and "line 2" in err and "explode" in err and events(db) == before
    code, out, err = cli("track", str(path), "--skip-invalid")
    assert code == 0 and "recorded 2 events" in out and "Line 2" in err
    assert events(db) == before + 2


def test_track_names_the_lines_of_the_file_blank_lines_counted(cli, db, tmp_path, ids):
    good = {"event_type": "open", "recipient_id": ids["ana"]}
    bad = {"event_type": "explode", "recipient_id": ids["ana"]}
    path = tmp_path / "e.jsonl"
    path.write_text(f"\n{json.dumps(good)}\n\n{json.dumps(bad)}\n")  # lines 2 and 4
    before = events(db)
    code, out, err = cli("track", str(path))
    assert code == 1 and events(db) == before
    # core's message, as core words it, with the file's line numbers
    assert "Nothing was recorded: 1 of 2 events can't be stored (line 4: unknown event" in err
    code, out, err = cli("track", str(path), "--skip-invalid")
    assert code == 0 and out.strip() == "recorded 1 event, skipped 1"
    assert err.startswith("Line 4: unknown event type 'explode'")
    assert events(db) == before + 1


def test_track_reads_stdin_and_names_a_line_that_is_not_json(cli, db, monkeypatch):
    monkeypatch.setattr(
        "sys.stdin", io.StringIO('{"event_type": "open", "recipient_id": 1}\n{oops\n')
    )
    before = events(db)
    code, _, err = cli("track", "-")
    assert code == 1 and "Line 2: not JSON" in err and events(db) == before


def test_export_to_stdout_and_to_a_file(cli, tmp_path):
    code, out, _ = cli("export", "camp_spring", "--what", "recipients", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 21
    target = tmp_path / "events.json"
    code, _, err = cli(
        "export", "camp_spring", "--what", "events", "--format", "json", "-o", str(target)
    )
    assert code == 0 and "wrote 6 events" in err
    assert len(json.loads(target.read_text())) == 6  # one JSON array
    code, _, err = cli("export", "camp_nope", "-o", str(tmp_path / "x.csv"))
    assert code == 1 and not (tmp_path / "x.csv").exists() and not list(tmp_path.glob("*.partial"))


def test_recount_and_status(cli, db):
    with db.transaction() as s:
        s.execute(Campaign.__table__.update().values(emails_opened=0))
    code, out, _ = cli("recount", "camp_spring")
    assert code == 0 and "emails_opened was 0, now 9" in out
    code, out, _ = cli("recount")
    assert "nothing repaired" in out
    code, out, _ = cli("status", "camp_spring", "pause")
    assert code == 0 and "camp_spring is paused" in out
    code, _, err = cli("status", "camp_done", "start")
    assert code == 1 and "completed" in err
    # A time without a zone is the local zone's, as in the app: tests/tui/test_forms.py
    code, out, _ = cli("status", "camp_evil", "schedule", "--at", "2030-01-01T09:00Z")
    assert code == 0 and "scheduled for " in out


def test_db_check_reports_no_drift(cli):
    code, out, _ = cli("db", "check")
    assert code == 0 and "no drift" in out


def test_duplicate_leaves_suppressed_recipients_out_and_says_how_many(cli, db):
    code, out, _ = cli("duplicate", "camp_spring", "--name", "Spring again")
    assert code == 0
    assert out.startswith("Copied to camp_") and "with 20 recipients" in out
    assert "1 left out: suppressed" in out  # olga's hard bounce listed her
    with db.reading() as s:
        copy = s.scalar(select(Campaign).where(Campaign.name == "Spring again"))
    assert copy.status == "draft" and copy.total_recipients == 20
    code, _, err = cli("duplicate", "camp_nope")
    assert code != 0 and "camp_nope" in err
