"""Hostile input through the core API: campaigns and their lifecycle, recipients and CSV files,
events. Each input is refused with a message a person can act on, the database left exactly
as it was (every table fingerprinted before and after), or it is legal and stored literally.

Decisions these cases pin down:
- Unicode in addresses is legal (core.recipients.csv): a Unicode local part and an IDN domain
  are stored as written, lower-cased like every address, never converted to punycode.
- An event time in the future is stored as given: a provider's clock may be ahead of ours, and
  the console records what it is told (a time without a zone is refused).
- Markup, terminal escapes, right-to-left marks and emoji are data: stored as given (the
  screens show them escaped, tests/tui covers that); NUL characters and lone surrogates can't
  be stored by PostgreSQL and are refused before anything is written.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from core import campaigns, events, recipients
from core.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from core.events import EventInput, InvalidEvents
from tests.reliability.conftest import unchanged
from tests.reliability.hostile import Case, World, make_world, one


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


def _new(name="x", **kw):
    return lambda s, w: campaigns.create_campaign(s, name=name, **kw)


def _move(campaign, action, **kw):
    return lambda s, w: campaigns.transition(s, campaign, action, **kw)


def _event(**kw):
    return lambda s, w: events.record_event(s, EventInput(**kw))


def _open(name, **kw):
    return lambda s, w: events.record_event(
        s, EventInput("open", recipient_id=w.recipient[name], **kw)
    )


def _csv(text_or_bytes, campaign="camp_draft"):
    def call(s, w):
        stream = (
            io.BytesIO(text_or_bytes)
            if isinstance(text_or_bytes, bytes)
            else io.StringIO(text_or_bytes)
        )
        return recipients.import_csv(s, campaign, stream)

    return call


FUTURE = datetime(2099, 1, 1, 12, 0, tzinfo=UTC)

REFUSED = [
    # campaign ids
    Case("id-with-space", _new(campaign_id="camp spring"), InvalidInput, "can't be a campaign id"),
    Case("id-empty", _new(campaign_id=""), InvalidInput, "can't be a campaign id"),
    Case("id-101-chars", _new(campaign_id="c" * 101), InvalidInput, "use 1 to 100 letters"),
    Case(
        "id-sql-injection",
        _new(campaign_id="x'; DROP TABLE campaigns; --"),
        InvalidInput,
        "can't be a campaign id",
    ),
    Case("id-unicode", _new(campaign_id="cämp_1"), InvalidInput, "can't be a campaign id"),
    Case("id-duplicate", _new(campaign_id="camp_spring"), Conflict, "already exists"),
    # campaign names and fields
    Case("name-blank", _new(name="  \t "), InvalidInput, "needs a name"),
    Case("name-not-text", _new(name=123), InvalidInput, "needs a name"),
    Case("name-10000-chars", _new(name="x" * 10_000), InvalidInput, "this one has 10000"),
    Case("name-nul-byte", _new(name="Spring\x00launch"), InvalidInput, "NUL character"),
    Case("name-lone-surrogate", _new(name="Spring \ud800"), InvalidInput, "not valid Unicode"),
    Case("template-id-text", _new(template_id="5"), InvalidInput, "whole number, not '5'"),
    Case("template-id-too-big", _new(template_id=2**31), InvalidInput, "out of range"),
    Case(
        "scheduled-at-no-zone",
        _new(scheduled_at=datetime(2030, 1, 1, 9, 0)),
        InvalidInput,
        "has no time zone",
    ),
    # lifecycle
    Case(
        "pause-a-draft",
        _move("camp_draft", "pause"),
        InvalidTransition,
        "it is draft; from draft you can schedule or start",
    ),
    Case("resume-a-completed", _move("camp_done", "resume"), InvalidTransition, "is final"),
    Case("start-without-recipients", _move("camp_draft", "start"), InvalidTransition, "no recip"),
    Case("unknown-action", _move("camp_draft", "launch"), InvalidInput, "Unknown action 'launch'"),
    Case(
        "schedule-in-the-past",
        _move("camp_evil", "schedule", at=datetime(2000, 1, 1, tzinfo=UTC)),
        InvalidInput,
        "is not in the future",
    ),
    Case(
        "schedule-without-zone",
        _move("camp_evil", "schedule", at=datetime(2030, 1, 1)),
        InvalidInput,
        "no time zone",
    ),
    Case("unknown-campaign", _move("camp_nope", "start"), NotFound, "camp_nope"),
    # recipients
    Case(
        "add-unknown-lead",
        lambda s, w: recipients.add_leads(s, "camp_draft", [999_999]),
        NotFound,
        "No lead with id 999999",
    ),
    Case(
        "lead-ids-as-text",
        lambda s, w: recipients.add_leads(s, "camp_draft", "12"),
        InvalidInput,
        "must be a list of ids",
    ),
    Case(
        "add-to-completed",
        lambda s, w: recipients.add_leads(s, "camp_done"),
        InvalidTransition,
        "it is completed",
    ),
    Case(
        "claim-zero",
        lambda s, w: recipients.claim_batch(s, "camp_spring", 0),
        InvalidInput,
        "A batch is 1 to 10000",
    ),
    Case(
        "failure-text-with-nul",
        lambda s, w: recipients.mark_failed(s, [w.recipient["ana"]], "550\x00"),
        InvalidInput,
        "NUL character",
    ),
    # CSV files (import_csv raises only when the file as a whole can't be read)
    Case("csv-latin-1", _csv("josé@example.com\n".encode("latin-1")), InvalidInput, "not UTF-8"),
    Case("csv-utf-16", _csv("ana@example.com\n".encode("utf-16")), InvalidInput, "not UTF-8"),
    Case(
        "csv-nul-in-path",
        lambda s, w: recipients.import_csv(s, "camp_draft", "/tmp/a\x00b.csv"),
        InvalidInput,
        "not a file name",
    ),
    Case(
        "csv-into-failed-campaign",
        _csv("zed@example.com\n", campaign="camp_failed"),
        InvalidTransition,
        "it is failed",
    ),
    # events
    Case(
        "event-unknown-type",
        _event(event_type="explode", recipient_id=1),
        InvalidInput,
        "'explode'",
    ),
    Case(
        "event-unknown-recipient",
        _event(event_type="open", recipient_id=99_999_999),
        InvalidInput,
        "no recipient with id 99999999",
    ),
    Case(
        "event-recipient-id-text",
        _event(event_type="open", recipient_id="1"),
        InvalidInput,
        "recipient_id must be a whole number",
    ),
    Case(
        "event-recipient-id-beyond-int4",
        _event(event_type="open", recipient_id=2**40),
        InvalidInput,
        "no recipient with id",
    ),
    Case(
        "event-unknown-campaign",
        _event(event_type="open", campaign="camp_nope", email_address="ana@example.com"),
        InvalidInput,
        "no campaign 'camp_nope'",
    ),
    Case(
        "event-unknown-address",
        _event(event_type="open", campaign="camp_spring", email_address="zed@example.com"),
        InvalidInput,
        "no recipient 'zed@example.com' in campaign 'camp_spring'",
    ),
    Case("ip-out-of-range", _open("ana", ip_address="999.1.1.1"), InvalidInput, "invalid IP"),
    Case("ip-with-zone-id", _open("ana", ip_address="fe80::1%eth0"), InvalidInput, "invalid IP"),
    Case("ip-host-name", _open("ana", ip_address="localhost"), InvalidInput, "invalid IP"),
    Case("json-array", _open("ana", event_data=[1, 2]), InvalidInput, "got an array"),
    Case("json-string", _open("ana", event_data="{}"), InvalidInput, "must be a JSON object"),
    Case(
        "json-1-megabyte",
        _open("ana", event_data={"blob": "x" * 1_000_000}),
        InvalidInput,
        "the limit is 16,384 bytes",
    ),
    Case("json-nan", _open("ana", event_data={"v": float("nan")}), InvalidInput, "as JSON"),
    Case("json-nul", _open("ana", event_data={"v": "a\x00b"}), InvalidInput, "NUL character"),
    Case(
        "time-without-zone",
        _open("ana", created_at=datetime(2026, 11, 1, 9, 0)),
        InvalidInput,
        "has no time zone",
    ),
    Case("user-agent-nul", _open("ana", user_agent="Mozilla\x00"), InvalidInput, "NUL character"),
    Case(
        "batch-one-bad-in-500",
        lambda s, w: events.record_events(
            s,
            [EventInput("open", recipient_id=w.recipient["ana"])] * 250
            + [EventInput("open", recipient_id=w.recipient["ana"], ip_address="1.2.3")]
            + [EventInput("click", recipient_id=w.recipient["ben"])] * 250,
        ),
        InvalidEvents,
        "Nothing was recorded: 1 of 501 events can't be stored (line 251: invalid IP",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_refused_with_a_clear_message_and_nothing_changed(world: World, case: Case):
    with unchanged(world.url), pytest.raises(case.raises, match=case.matches()):
        world.db.run(lambda session: case.call(session, world))


# --- CSV lines: the file is read, the bad lines reported by number, nothing added -----------

BAD_LINES = [
    (
        "csv-four-columns",
        "a@example.com,A,Acme,extra\n",
        "4 columns; expected email[,name,company]",
    ),
    ("csv-no-at", "not-an-address\n", "an address needs an @"),
    ("csv-two-ats", "a@@example.com\n", "only one @"),
    ("csv-empty-local-part", "@example.com\n", "nothing before the @"),
    ("csv-dotless-domain", "root@localhost\n", "needs a dot"),
    ("csv-space-inside", "ana smith@example.com\n", "spaces or control characters"),
    ("csv-escape-bytes", "\x1b[31mred@example.com\n", "spaces or control characters"),
    ("csv-nul-in-address", "a\x00b@example.com\n", "spaces or control characters"),
    ("csv-hyphen-label", "a@-example.com\n", "starts or ends with '-'"),
    ("csv-double-dot", "a@example..com\n", "empty part"),
    ("csv-255-char-address", "a" * 64 + "@" + "b" * 186 + ".com\n", "longer than 254"),
    ("csv-65-char-local-part", "a" * 65 + "@example.com\n", "longer than 64"),
    ("csv-nul-in-name", "n@example.com,Ana\x00\n", "the name contains a NUL"),
    ("csv-256-char-company", "c@example.com,C," + "x" * 256 + "\n", "company is longer than 255"),
    ("csv-unclosed-quote", '"a@example.com\nb@example.com\n', "spaces or control characters"),
]


@pytest.mark.parametrize(
    ("text", "reason"), [c[1:] for c in BAD_LINES], ids=[c[0] for c in BAD_LINES]
)
def test_bad_csv_lines_are_reported_and_nothing_is_added(world: World, text, reason):
    with unchanged(world.url):
        result = world.db.run(lambda s: _csv(text)(s, world))
    assert result.added == 0 and result.created_leads == 0
    assert [e.line for e in result.errors] == [1]
    assert reason in result.errors[0].reason


def test_blank_files_add_nothing(world: World):
    for text in ("", "\n\n\r\n", "email,name,company\n", "\ufeffemail\n\n"):
        with unchanged(world.url):
            result = world.db.run(lambda s, text=text: _csv(text)(s, world))
        assert (result.added, result.errors, result.skipped_duplicates) == (0, (), 0), text


# --- legal input, stored literally -----------------------------------------------------------

MARKUP = "[bold red]Launch[/] [link=https://evil.test]click[/link] $(rm -rf /)"
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x08\x7f Launch"
UNICODE = "🚀 Ünïcode \u202eRTL\u202c 名前 e\u0301"


def _name_stored(name):
    def check(w: World, summary):
        assert summary.name == name
        assert one(w.url, "SELECT name FROM campaigns WHERE id = %s", summary.id) == name

    return check


def _event_stored(column, value):
    def check(w: World, event_id):
        assert one(w.url, f"SELECT {column} FROM email_tracking WHERE id = %s", event_id) == value

    return check


def _imported(address, name=None):
    def check(w: World, result):
        assert result.added == 1 and result.errors == ()
        row = one(
            w.url,
            "SELECT (r.email_address, l.name)::text FROM campaign_recipients r"
            " JOIN leads l ON l.id = r.lead_id WHERE r.email_address = %s",
            address,
        )
        expected = one(w.url, "SELECT (%s::varchar, %s::varchar)::text", address, name)
        assert row == expected

    return check


LEGAL = [
    Case("name-markup", _new(name=MARKUP), check=_name_stored(MARKUP)),
    Case("name-escape-bytes", _new(name=ESCAPES), check=_name_stored(ESCAPES)),
    Case("name-unicode-rtl-emoji", _new(name=UNICODE), check=_name_stored(UNICODE)),
    Case("name-255-chars", _new(name="n" * 255), check=_name_stored("n" * 255)),
    Case(
        "event-time-in-the-future",
        _open("ines", created_at=FUTURE),
        check=_event_stored("created_at", FUTURE),
    ),
    Case(
        "event-user-agent-markup",
        _open("jon", user_agent=MARKUP + ESCAPES),
        check=_event_stored("user_agent", MARKUP + ESCAPES),
    ),
    Case(
        "event-data-markup-unicode",
        _open("kira", event_data={"link_url": MARKUP, "note": UNICODE + ESCAPES}),
        check=lambda w, eid: _event_stored(
            "event_data", {"link_url": MARKUP, "note": UNICODE + ESCAPES}
        )(w, eid),
    ),
    Case(
        "csv-unicode-local-part-and-idn",
        _csv("José.Ñúñez@Exämple.com,José\n"),
        check=_imported("josé.ñúñez@exämple.com", "José"),
    ),
    Case(
        "csv-name-markup-and-escapes",
        _csv(f"mallory@evil.test,{MARKUP}\n"),
        check=_imported("mallory@evil.test", MARKUP),
    ),
    Case(
        "csv-bom-header-crlf-blank-lines",
        _csv("\ufeffEmail,Name\r\n\r\n  \r\nBOM@Example.com,Bom\r\n\r\n"),
        check=_imported("bom@example.com", "Bom"),
    ),
    Case(
        "csv-formula-name",
        _csv('formula@example.com,"=HYPERLINK(""http://x"",""y"")"\n'),
        check=_imported("formula@example.com", '=HYPERLINK("http://x","y")'),
    ),
]


@pytest.mark.parametrize("case", LEGAL, ids=lambda c: c.id)
def test_legal_input_is_stored_literally(world: World, case: Case):
    result = world.db.run(lambda session: case.call(session, world))
    case.check(world, result)
