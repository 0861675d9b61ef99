"""Suppression can't be bypassed by spelling (issue 19, item 6): an address listed in one
spelling is refused in another that is the same address, at import and at send time (claim),
whether it was listed by hand or by the database's event trigger. Cases: a final sigma, a
dotted capital I, NFD against NFC, punycode against a Unicode domain. Migration 0009 keeps the
rows and goes back down."""

from __future__ import annotations

import io
import threading
import unicodedata

import psycopg
import pytest
from sqlalchemy import text

from core import recipients, store
from core.events import EventInput, record_event
from core.store import Database
from tests.factories import make_campaign
from tui.cli import main

NFD_JOSE = unicodedata.normalize("NFD", "José@example.com")
# (case, listed as, then met as)
PAIRS = [
    ("final sigma, same spelling", "ΣΟΦΙΑΣ@example.gr", "ΣΟΦΙΑΣ@example.gr"),
    ("final sigma, lower case", "ΣΟΦΙΑΣ@example.gr", "σοφιας@example.gr"),
    ("final sigma, listed lower", "σοφιας@example.gr", "ΣΟΦΙΑΣ@EXAMPLE.GR"),
    ("dotted capital I", "İLKER@example.com.tr", "İlker@example.com.tr"),
    ("dotted I, folded", "İLKER@example.com.tr", "i\u0307lker@example.com.tr"),
    ("NFD listed, NFC met", NFD_JOSE, "José@example.com"),
    ("NFC listed, NFD met", "JOSÉ@example.com", NFD_JOSE),
    ("punycode listed, Unicode met", "anna@xn--bcher-kva.example", "anna@Bücher.example"),
    ("Unicode listed, punycode met", "anna@bücher.example", "Anna@XN--BCHER-KVA.example"),
]
IDS = [p[0] for p in PAIRS]


def test_the_pairs_are_different_strings_with_one_key():
    for _, listed, met in PAIRS[1:]:
        assert listed != met
        assert recipients.address_key(listed) == recipients.address_key(met)
    assert recipients.address_key("ilker@example.com.tr") != recipients.address_key(
        "İLKER@example.com.tr"
    )
    assert recipients.address_key("a@xn--broken-") == "a@xn--broken-"  # not punycode: as written


def _running(s, campaign_id: str, *emails: str) -> list[int]:
    c = make_campaign(s, campaign_id, status="running")
    ids = []
    for email in emails:
        lead = s.execute(
            text(
                "INSERT INTO leads (email) VALUES (:e)"
                " ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id"
            ),
            {"e": email},
        ).scalar_one()
        ids.append(
            s.execute(
                text(
                    "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
                    " VALUES (:c, :l, :e) RETURNING id"
                ),
                {"c": c.id, "l": lead, "e": email},
            ).scalar_one()
        )
    return ids


@pytest.mark.parametrize(("case", "listed", "met"), PAIRS, ids=IDS)
def test_import_refuses_the_same_address_in_another_spelling(db, case, listed, met):
    with db.transaction() as s:
        make_campaign(s, "camp_in")
        assert recipients.suppress(s, listed) is True
        assert recipients.suppress(s, met) is False  # already listed: one address
    with db.transaction() as s:
        result = recipients.import_csv(
            s, "camp_in", io.StringIO(f"email\n{met}\nfine@example.com\n")
        )
    assert (result.added, result.skipped_suppressed, result.errors) == (1, 1, ())
    with db.reading() as s:
        assert recipients.is_suppressed(s, [met, "fine@example.com"]) == {met}


@pytest.mark.parametrize(("case", "listed", "met"), PAIRS, ids=IDS)
@pytest.mark.parametrize("by", ["hand", "event"])
def test_claim_refuses_the_same_address_in_another_spelling(db, case, listed, met, by):
    with db.transaction() as s:
        rid, control = _running(s, "camp_out", met, "Fine@Example.com")
        if by == "hand":
            recipients.suppress(s, listed, "complaint")
        else:  # another campaign's recipient, spelt `listed`, complains: the trigger lists it
            (other,) = _running(s, "camp_elsewhere", listed)
            record_event(s, EventInput("complain", recipient_id=other))
    with db.transaction() as s:
        claimed = recipients.claim_batch(s, "camp_out", 10)
        status = s.execute(
            text("SELECT status, error_message FROM campaign_recipients WHERE id = :i"),
            {"i": rid},
        ).one()
    # The other recipient is claimed, spelt as it was given (that is what is sent).
    assert [(r.id, r.email_address) for r in claimed] == [(control, "Fine@Example.com")]
    assert tuple(status) == ("unsubscribed", "suppressed: complaint")


def test_the_cli_case_of_the_report(db_url, capsys, tmp_path):
    """`suppression add 'ΣΟΦΙΑΣ@example.gr'`, then importing the same address: refused."""
    csv = tmp_path / "r.csv"
    csv.write_text("ΣΟΦΙΑΣ@example.gr\n", encoding="utf-8")
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO campaigns (campaign_id, name) VALUES ('camp_gr', 'Greek')")
    assert main(["suppression", "add", "ΣΟΦΙΑΣ@example.gr", "--database-url", db_url]) == 0
    assert main(["import-recipients", "camp_gr", str(csv), "--database-url", db_url]) == 0
    out = capsys.readouterr().out
    assert "1 suppressed" in out, out
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM campaign_recipients").fetchone() == (0,)


def test_rows_the_trigger_adds_are_keyed_and_folded_into_the_first(db):
    with db.transaction() as s:
        ids = _running(s, "camp_fold", "Jane@Example.com", "JANE@example.com", "x@example.com")
        for rid in ids[:2]:
            record_event(s, EventInput("unsubscribe", recipient_id=rid))
        rows = s.execute(text("SELECT email_address, email_key FROM suppressions ORDER BY id"))
        assert rows.all() == [("Jane@Example.com", None), ("JANE@example.com", None)]
        assert recipients.key_pending(s) == 1  # the second spelling folded into the first
        rows = s.execute(text("SELECT email_address, email_key FROM suppressions ORDER BY id"))
        assert rows.all() == [("Jane@Example.com", "jane@example.com")]
        assert recipients.lift(s, "jane@EXAMPLE.com") is True
        assert s.scalar(text("SELECT count(*) FROM suppressions")) == 0


def test_migration_0009_keeps_spellings_and_goes_back_down(empty_db_url):
    url = empty_db_url
    store.upgrade(url, "0007_event_rollup")
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO leads (id, email) VALUES (1, 'Bo@Example.com'), (2, 'bo@example.com')"
        )
        conn.execute("INSERT INTO campaigns (id, campaign_id, name) VALUES (1, 'c', 'C')")
        conn.execute(
            "INSERT INTO campaign_recipients (id, campaign_id, lead_id, email_address)"
            " VALUES (1, 1, 1, 'Bo@Example.com'), (2, 1, 2, 'bo@example.com')"
        )
        conn.execute(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type) VALUES (1, 'complain')"
        )
        conn.execute(
            "INSERT INTO suppressions (email_address, reason) VALUES ('m@x.org', 'manual')"
        )
    store.upgrade(url)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT email_address, email_key, reason FROM suppressions ORDER BY id"
        ).fetchall()
        assert rows == [("Bo@Example.com", None, "complaint"), ("m@x.org", None, "manual")]
        # A second spelling listed by the new trigger: its own row until core keys it.
        conn.execute(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type) VALUES (2, 'complain')"
        )
        assert conn.execute("SELECT count(*) FROM suppressions").fetchone() == (3,)
    assert store.drift(url) == []
    store.downgrade(url, "0007_event_rollup")
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT email_address, reason FROM suppressions ORDER BY id").fetchall()
        assert rows == [("bo@example.com", "complaint"), ("m@x.org", "manual")]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO suppressions (email_address, reason) VALUES ('A@b.c', 'manual')"
            )
    store.upgrade(url)
    assert store.drift(url) == []


def test_keying_while_another_transaction_lists_the_same_key(db, db_url):
    """T1's trigger row (uncommitted, unseen by T2) and T2's suppress() of the same address:
    T1's keying waits for T2, the unique key refuses it, and it folds its row into T2's."""
    with db.transaction() as s:
        (rid,) = _running(s, "camp_race", "Race@Example.com")
    with db.sessions() as first:
        record_event(first, EventInput("unsubscribe", recipient_id=rid))  # T1, open
        second = Database(db_url)
        try:
            with second.transaction() as t2:
                assert recipients.suppress(t2, "race@example.com") is True  # T2 sees no row of T1's
                outcome: list[object] = []
                worker = threading.Thread(
                    target=lambda: outcome.append(recipients.key_pending(first))
                )
                worker.start()
                worker.join(1.0)
                assert worker.is_alive(), "T1 should wait for T2's key"
            worker.join(30)
        finally:
            second.close()
        assert outcome == [1]  # folded into T2's row
        first.commit()
    with db.reading() as s:
        rows = s.execute(text("SELECT email_address, email_key, reason FROM suppressions")).all()
    assert rows == [("race@example.com", "race@example.com", "manual")]


def test_a_claim_neither_waits_for_nor_misses_a_row_another_transaction_is_keying(db, db_url):
    with db.transaction() as s:
        (rid,) = _running(s, "camp_locked", "Held@Example.com")
        (other,) = _running(s, "camp_listing", "HELD@example.com")
        record_event(s, EventInput("unsubscribe", recipient_id=other))  # an unkeyed row
    with psycopg.connect(db_url) as holder:
        holder.execute("SELECT id FROM suppressions WHERE email_key IS NULL FOR UPDATE")
        with db.transaction() as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail the test
            assert recipients.claim_batch(s, "camp_locked", 10) == ()
            status = s.scalar(
                text("SELECT status FROM campaign_recipients WHERE id = :i"), {"i": rid}
            )
        assert status == "unsubscribed"
        holder.rollback()
