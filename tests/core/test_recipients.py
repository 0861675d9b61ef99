"""Recipients: adding leads, CSV import, removal, claiming for sending, send outcomes."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from core import recipients
from core.campaigns import get_campaign
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.store import Campaign, CampaignRecipient, CampaignStatus, Lead, RecipientStatus
from tests.factories import make_campaign, make_leads, make_recipients

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
S = CampaignStatus
RS = RecipientStatus


def _recipients(db, cid: str) -> list[CampaignRecipient]:
    with db.reading() as s:
        c = s.scalar(select(Campaign).where(Campaign.campaign_id == cid))
        return list(
            s.scalars(
                select(CampaignRecipient)
                .where(CampaignRecipient.campaign_id == c.id)
                .order_by(CampaignRecipient.id)
            )
        )


def _count(db, model) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(model))


# --- add_leads ----------------------------------------------------------------------------


def test_add_leads_skips_and_reports_duplicates(db):
    with db.transaction() as s:
        make_campaign(s, "c1")
        leads = make_leads(s, 5)
    with db.transaction() as s:
        first = recipients.add_leads(s, "c1", leads[:3])
    assert first == recipients.AddResult(added=3, skipped_duplicates=0, requested=3)
    with db.transaction() as s:
        again = recipients.add_leads(s, "c1", [leads[2], leads[3], leads[3], leads[4]])
    assert again == recipients.AddResult(added=2, skipped_duplicates=1, requested=3)
    rows = _recipients(db, "c1")
    assert sorted(r.lead_id for r in rows) == sorted(leads)
    with db.reading() as s:
        emails = dict(s.execute(select(Lead.id, Lead.email)).all())
        assert get_campaign(s, "c1").total_recipients == 5
    assert all(r.email_address == emails[r.lead_id] for r in rows)
    assert {r.status for r in rows} == {RS.PENDING}


def test_add_all_leads(db):
    with db.transaction() as s:
        make_campaign(s, "c1")
        leads = make_leads(s, 4)
        recipients.add_leads(s, "c1", leads[:1])
    with db.transaction() as s:
        result = recipients.add_leads(s, "c1")
    assert result == recipients.AddResult(added=3, skipped_duplicates=1, requested=4)
    with db.transaction() as s:
        assert recipients.add_leads(s, "c1", []) == recipients.AddResult(0, 0, 0)


def test_add_unknown_lead_adds_nothing(db):
    with db.transaction() as s:
        make_campaign(s, "c1")
        leads = make_leads(s, 2)
    with pytest.raises(NotFound, match="No lead with id 999999; nothing"), db.transaction() as s:
        recipients.add_leads(s, "c1", [*leads, 999999])
    assert _recipients(db, "c1") == []
    with pytest.raises(InvalidInput, match="whole numbers"), db.transaction() as s:
        recipients.add_leads(s, "c1", ["1"])
    with pytest.raises(NotFound), db.transaction() as s:
        recipients.add_leads(s, "nope", leads)


@pytest.mark.parametrize("status", list(S))
def test_adding_is_refused_once_a_campaign_ended(db, status):
    with db.transaction() as s:
        make_campaign(s, "c1", status=status)
        leads = make_leads(s, 2)
    ended = status in (S.COMPLETED, S.FAILED)
    if ended:
        with pytest.raises(InvalidTransition, match=f"it is {status}"), db.transaction() as s:
            recipients.add_leads(s, "c1", leads)
        with pytest.raises(InvalidTransition, match=f"it is {status}"), db.transaction() as s:
            recipients.import_csv(s, "c1", io.StringIO("new@example.com\n"))
        assert _recipients(db, "c1") == []
        assert _count(db, Lead) == 2
    else:
        with db.transaction() as s:
            assert recipients.add_leads(s, "c1", leads).added == 2


# --- import_csv ---------------------------------------------------------------------------

MESSY = (
    "\ufeffEmail,Name,Company\n"
    "ann@example.com,Ann,Acme\n"
    "\n"
    "   \n"
    "not-an-address,X,Y\n"
    "Bob@Example.COM , Bob ,\n"
    '"cy@example.org","Doe, Cy","Widgets, Inc"\n'
    "two@@example.com\n"
    "no-dot@localhost\n"
    "ann@example.com,Ann again\n"
    "a@b.com,1,2,3\n"
    "has space@example.com\n"
    "@example.com\n"
    "dee@example..com\n"
    "EXISTING@example.net,New Name,New Co\n"
    ",Nameless\n"
    f"{'x' * 250}@example.com\n"
    "eve@example.com," + "n" * 256 + "\n"
    "fay@example.com"  # no newline at the end
)


def test_import_reports_bad_lines_and_imports_the_rest(db):
    with db.transaction() as s:
        make_campaign(s, "c1")
        s.add(Lead(email="Existing@Example.net", name="Kept", company="Kept Co"))
    with db.transaction() as s:
        result = recipients.import_csv(s, "c1", io.StringIO(MESSY))
    assert [(e.line, e.reason) for e in result.errors] == [
        (5, "an address needs an @"),
        (8, "an address has only one @"),
        (9, "the domain after the @ needs a dot (like example.com)"),
        (11, "4 columns; expected email[,name,company]"),
        (12, "the address contains spaces or control characters"),
        (13, "nothing before the @"),
        (14, "the domain has an empty part (two dots in a row, or a dot at either end)"),
        (16, "the email address is empty"),
        (17, "the address is longer than 254 characters"),
        (18, "the name is longer than 255 characters"),
    ]
    assert result.errors[0].value == "not-an-address"
    assert result.errors[3].value == "a@b.com,1,2,3"
    assert (result.added, result.created_leads, result.reused_leads) == (5, 4, 1)
    assert result.skipped_duplicates == 1  # line 10 repeats line 2
    with db.reading() as s:
        leads = {lead.email: (lead.name, lead.company) for lead in s.scalars(select(Lead)).all()}
    assert leads == {
        "ann@example.com": ("Ann", "Acme"),
        "bob@example.com": ("Bob", None),
        "cy@example.org": ("Doe, Cy", "Widgets, Inc"),
        "Existing@Example.net": ("Kept", "Kept Co"),  # reused as it is
        "fay@example.com": (None, None),
    }
    emails = [r.email_address for r in _recipients(db, "c1")]
    assert emails == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.org",
        "Existing@Example.net",
        "fay@example.com",
    ]


def test_import_again_skips_existing_recipients(db, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("email\nA@x.io\nb@x.io\n", encoding="utf-8")
    with db.transaction() as s:
        make_campaign(s, "c1")
        make_campaign(s, "c2")
    with db.transaction() as s:
        assert recipients.import_csv(s, "c1", path) == recipients.ImportResult(2, 2, 0, 0, ())
    path.write_text("b@x.io\nc@x.io\na@X.IO\n", encoding="utf-8")
    with db.transaction() as s:
        assert recipients.import_csv(s, "c1", str(path)) == recipients.ImportResult(1, 1, 2, 2, ())
        # A second import in the same transaction, into another campaign, reusing all leads.
        with path.open("rb") as stream:
            assert recipients.import_csv(s, "c2", stream) == recipients.ImportResult(3, 0, 3, 0, ())
    assert _count(db, Lead) == 3
    with db.reading() as s:
        assert get_campaign(s, "c1").total_recipients == 3


def test_import_handles_crlf_and_header_variants(db):
    data = "E-mail Address;x\r\nfirst@example.com\r\n\r\nsecond@example.com,S\r\n"
    with db.transaction() as s:
        make_campaign(s, "c1")
        result = recipients.import_csv(s, "c1", io.StringIO(data))
    assert (result.added, result.errors) == (2, ())
    with db.transaction() as s:
        # Without a header the first line is data.
        assert recipients.import_csv(s, "c1", io.StringIO("third@example.com\n")).added == 1


def test_import_of_only_bad_or_empty_lines_writes_nothing(db):
    with db.transaction() as s:
        make_campaign(s, "c1")
        bad = recipients.import_csv(s, "c1", io.StringIO("email\nnope\n\n"))
        empty = recipients.import_csv(s, "c1", io.StringIO(""))
    assert (bad.added, [e.line for e in bad.errors]) == (0, [2])
    assert empty == recipients.ImportResult(0, 0, 0, 0, ())
    assert _count(db, Lead) == 0


@pytest.mark.parametrize("as_path", [True, False], ids=["path", "binary-stream"])
def test_file_that_is_not_utf8_is_refused_naming_the_line(db, tmp_path, as_path):
    raw = "a@example.com\nb@example.com\nc\xe9@example.com\n".encode("latin-1")
    path = tmp_path / "latin1.csv"
    path.write_bytes(raw)
    with db.transaction() as s:
        make_campaign(s, "c1")
    source = path if as_path else io.BytesIO(raw)
    with pytest.raises(InvalidInput, match="Line 3 is not UTF-8"), db.transaction() as s:
        recipients.import_csv(s, "c1", source)
    assert _count(db, Lead) == 0


def test_unreadable_inputs(db, tmp_path):
    with db.transaction() as s:
        make_campaign(s, "c1")
    with pytest.raises(InvalidInput, match="Can't read"), db.transaction() as s:
        recipients.import_csv(s, "c1", tmp_path / "missing.csv")
    bad_text = io.TextIOWrapper(io.BytesIO(b"a@example.com\n\xff\xfe\n"), encoding="utf-8")
    with pytest.raises(InvalidInput, match="not UTF-8"), db.transaction() as s:
        recipients.import_csv(s, "c1", bad_text)
    with db.transaction() as s:
        nul = recipients.import_csv(s, "c1", io.StringIO("a@example.com,A\x00B\n"))
    assert [e.reason for e in nul.errors] == ["the name contains a NUL character"]


def test_import_is_part_of_the_callers_transaction(db):
    with db.transaction() as s:
        make_campaign(s, "c1")
    with pytest.raises(RuntimeError), db.transaction() as s:
        assert (
            recipients.import_csv(s, "c1", io.StringIO("a@example.com\nb@example.com\n")).added == 2
        )
        raise RuntimeError("a later step failed")
    assert _count(db, Lead) == 0
    assert _count(db, CampaignRecipient) == 0


def test_import_of_100_000_rows(db, tmp_path):
    path = tmp_path / "big.csv"
    lines = ["email,name,company"]
    lines += [f"user{i}@big{i % 97}.example.com,User {i},Co {i % 13}" for i in range(100_000)]
    lines += ["broken-line", "user5@big5.example.com"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with db.transaction() as s:
        make_campaign(s, "big")
        s.execute(
            text(
                "INSERT INTO leads (email) SELECT 'user' || i || '@big' || (i % 97)"
                " || '.example.com' FROM generate_series(0, 99999, 10) AS i"
            )
        )
    started = time.perf_counter()
    with db.transaction() as s:
        result = recipients.import_csv(s, "big", path)
    elapsed = time.perf_counter() - started
    print(f"\nimported 100,000 CSV rows in {elapsed:.2f} s")
    assert (result.added, result.created_leads, result.reused_leads) == (100_000, 90_000, 10_000)
    assert result.skipped_duplicates == 1
    assert [(e.line, e.value) for e in result.errors] == [(100_002, "broken-line")]
    with db.reading() as s:
        assert get_campaign(s, "big").total_recipients == 100_000


# --- remove -------------------------------------------------------------------------------


def test_remove_recipients_of_that_campaign_only(db):
    with db.transaction() as s:
        c1 = make_campaign(s, "c1")
        c2 = make_campaign(s, "c2")
        mine = make_recipients(s, c1, 4)
        theirs = make_recipients(s, c2, 2)
    with db.transaction() as s:
        assert recipients.remove_recipients(s, "c1", [mine[0], mine[2], theirs[0], 424242]) == 2
        assert recipients.remove_recipients(s, "c1", []) == 0
    assert [r.id for r in _recipients(db, "c1")] == [mine[1], mine[3]]
    assert len(_recipients(db, "c2")) == 2
    with db.transaction() as s:
        make_campaign(s, "done", status=S.COMPLETED)
    with pytest.raises(InvalidTransition, match="done: it is completed"), db.transaction() as s:
        recipients.remove_recipients(s, "done", [1])


# --- claim_batch --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [s for s in S if s != S.RUNNING])
def test_claim_on_a_campaign_that_is_not_running_returns_nothing(db, status):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=status)
        make_recipients(s, c, 3)
    with db.transaction() as s:
        assert recipients.claim_batch(s, "c1", 10) == ()
    assert {r.status for r in _recipients(db, "c1")} == {RS.PENDING}


def test_claim_takes_pending_in_order_and_queues_them(db):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=S.RUNNING)
        ids = make_recipients(s, c, 5)
        make_recipients(s, c, 2, status=RS.SENT)
    with db.transaction() as s:
        first = recipients.claim_batch(s, "c1", 3)
    assert [x.id for x in first] == ids[:3]
    assert all(isinstance(x, recipients.ClaimedRecipient) and "@" in x.email_address for x in first)
    with db.transaction() as s:
        assert [x.id for x in recipients.claim_batch(s, c.id, 10)] == ids[3:]
        assert recipients.claim_batch(s, "c1", 10) == ()
    statuses = {r.id: r.status for r in _recipients(db, "c1")}
    assert [statuses[i] for i in ids] == [RS.QUEUED] * 5
    with pytest.raises(InvalidInput, match="1 to 10000"), db.transaction() as s:
        recipients.claim_batch(s, "c1", 0)


def test_claim_skips_rows_another_sender_holds(db):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=S.RUNNING)
        ids = make_recipients(s, c, 6)
    with db.transaction() as a, db.transaction() as b:
        got_a = recipients.claim_batch(a, "c1", 4)
        # Would block (and fail on the timeout) if b waited for a's locks instead of skipping.
        b.execute(text("SET LOCAL lock_timeout = '2s'"))
        got_b = recipients.claim_batch(b, "c1", 4)
    assert [x.id for x in got_a] == ids[:4]
    assert [x.id for x in got_b] == ids[4:]


def test_two_concurrent_claimers_never_share_a_recipient(db):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=S.RUNNING)
        pending = make_recipients(s, c, 600)
        make_recipients(s, c, 50, status=RS.FAILED)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sender(name: str) -> None:
        try:
            barrier.wait()
            while True:
                with db.transaction() as s:
                    batch = recipients.claim_batch(s, "c1", 7)
                    time.sleep(0.001)  # hold the locks a moment, as a real sender would
                if not batch:
                    return
                claimed[name].extend(x.id for x in batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    a, b = set(claimed["a"]), set(claimed["b"])
    assert len(a) == len(claimed["a"]) and len(b) == len(claimed["b"])
    assert not a & b
    assert a | b == set(pending)
    assert a and b, "both senders should have had a share"


# --- outcomes -----------------------------------------------------------------------------


def test_mark_sent_keeps_the_first_time(db):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=S.RUNNING)
        queued = make_recipients(s, c, 3, status=RS.QUEUED)
        resent = make_recipients(s, c, 1, status=RS.FAILED, error_message="timeout")
        bounced = make_recipients(s, c, 1, status=RS.BOUNCED, bounced_at=NOW)
    with db.transaction() as s:
        assert recipients.mark_sent(s, queued[:2], at=NOW) == 2
    with db.transaction() as s:
        later = NOW + timedelta(hours=1)
        assert recipients.mark_sent(s, [*queued, *resent, *bounced], at=later) == 4
        assert recipients.mark_sent(s, []) == 0
    rows = {r.id: r for r in _recipients(db, "c1")}
    assert [rows[i].sent_at for i in queued] == [NOW, NOW, later]
    assert {rows[i].status for i in [*queued, *resent]} == {RS.SENT}
    assert rows[resent[0]].error_message is None
    assert (rows[bounced[0]].status, rows[bounced[0]].sent_at) == (RS.BOUNCED, None)
    with db.reading() as s:
        assert get_campaign(s, "c1").emails_sent == 4
    with pytest.raises(InvalidInput, match="no time zone"), db.transaction() as s:
        recipients.mark_sent(s, queued, at=datetime(2026, 1, 1))


def test_mark_sent_without_a_time_uses_the_transaction_time(db):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=S.RUNNING)
        ids = make_recipients(s, c, 1)
    with db.transaction() as s:
        recipients.mark_sent(s, ids)
        now = s.scalar(select(func.now()))
    assert _recipients(db, "c1")[0].sent_at == now


def test_mark_failed_records_the_error(db):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=S.RUNNING)
        queued = make_recipients(s, c, 2, status=RS.QUEUED)
        sent = make_recipients(s, c, 1, status=RS.SENT, sent_at=NOW)
    with db.transaction() as s:
        assert recipients.mark_failed(s, [*queued, *sent], "  421 try later ") == 2
    rows = {r.id: r for r in _recipients(db, "c1")}
    assert {(rows[i].status, rows[i].error_message) for i in queued} == {
        (RS.FAILED, "421 try later")
    }
    assert (rows[sent[0]].status, rows[sent[0]].error_message) == (RS.SENT, None)
    for bad in ("", "   ", None):
        with pytest.raises(InvalidInput, match="error message"), db.transaction() as s:
            recipients.mark_failed(s, queued, bad)


def test_mark_bounced_first_time_wins(db):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=S.RUNNING)
        sent = make_recipients(s, c, 2, status=RS.SENT, sent_at=NOW)
        unsub = make_recipients(s, c, 1, status=RS.UNSUBSCRIBED, sent_at=NOW)
    with db.transaction() as s:
        assert recipients.mark_bounced(s, sent[:1], "550 no such user", at=NOW) == 1
    with db.transaction() as s:
        later = NOW + timedelta(days=1)
        assert recipients.mark_bounced(s, [*sent, *unsub], "552 mailbox full", at=later) == 3
    rows = {r.id: r for r in _recipients(db, "c1")}
    assert (rows[sent[0]].status, rows[sent[0]].bounced_at) == (RS.BOUNCED, NOW)
    assert rows[sent[0]].error_message == "552 mailbox full"
    assert (rows[sent[1]].status, rows[sent[1]].bounced_at) == (RS.BOUNCED, later)
    assert (rows[unsub[0]].status, rows[unsub[0]].bounced_at) == (RS.UNSUBSCRIBED, later)
    with db.reading() as s:
        assert get_campaign(s, "c1").emails_bounced == 3


def test_retry_failed_puts_failed_back_to_pending(db):
    with db.transaction() as s:
        c = make_campaign(s, "c1", status=S.PAUSED)
        failed = make_recipients(s, c, 3, status=RS.FAILED, error_message="timeout")
        sent = make_recipients(s, c, 1, status=RS.SENT, sent_at=NOW)
        other = make_campaign(s, "c2", status=S.RUNNING)
        make_recipients(s, other, 2, status=RS.FAILED, error_message="x")
    with db.transaction() as s:
        assert recipients.retry_failed(s, "c1") == 3
        assert recipients.retry_failed(s, "c1") == 0
    rows = {r.id: r for r in _recipients(db, "c1")}
    assert {(rows[i].status, rows[i].error_message) for i in failed} == {(RS.PENDING, None)}
    assert rows[sent[0]].status == RS.SENT
    assert {r.status for r in _recipients(db, "c2")} == {RS.FAILED}
    with db.transaction() as s:
        make_campaign(s, "done", status=S.FAILED)
    with pytest.raises(InvalidTransition, match="done: it is failed"), db.transaction() as s:
        recipients.retry_failed(s, "done")


def test_outcome_functions_check_ids(db):
    with db.transaction() as s:
        with pytest.raises(InvalidInput, match="whole numbers"):
            recipients.mark_sent(s, [1, "2"])
        with pytest.raises(InvalidInput, match="list of ids"):
            recipients.mark_failed(s, "12", "x")
