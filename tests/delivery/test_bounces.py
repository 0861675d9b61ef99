"""`campaigns bounces ingest` as the MTA runs it: a real process, one bounce on its stdin (the
files in tests/delivery/bounces/, realistic DSNs and providers' own formats, addressed to the
recipient's signed VERP address), the database checked after each: the bounce event and its
event_data, the recipient's status, the suppression of hard bounces, one event for a bounce
piped twice, nothing for a forged token or a message that is no bounce, and the exit codes an
MTA acts on (0, 65 EX_DATAERR, 75 EX_TEMPFAIL)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy import text

from core.delivery import bounces
from core.recipients import mark_sent
from core.tracking import load_keyring
from core.tracking.ids import bounce_address
from tests.core.test_counters import assert_counters_match
from tests.delivery.data import running_campaign
from tests.delivery.process import CAMPAIGNS, REPO

FILES = Path(__file__).with_name("bounces")
DOMAIN = "mail.example.com"


def _pipe(db_url: str, name: str, verp: str, email: str, *args: str) -> tuple[int, str]:
    raw = _raw(name, verp, email)
    done = subprocess.run(
        [str(CAMPAIGNS), "bounces", "ingest", *args],
        input=raw,
        capture_output=True,
        cwd=REPO,
        env=dict(os.environ, DATABASE_URL=db_url, PYTHONPATH=str(REPO)),
        timeout=120,
    )
    return done.returncode, done.stderr.decode()


def _raw(name: str, verp: str, email: str) -> bytes:
    raw = (FILES / name).read_bytes()
    return raw.replace(b"VERP_ADDRESS", verp.encode()).replace(b"RECIPIENT_EMAIL", email.encode())


def _ingest_here(db, name: str, verp: str, email: str) -> bounces.Ingested:
    raw = _raw(name, verp, email)
    message = bounces.parse(raw)
    failure = bounces.read_failure(message, raw)
    return db.run(lambda s: bounces.ingest(s, message, failure))


def _setup(db, emails: list[str]) -> tuple[int, dict[str, int], dict[str, str]]:
    pk, ids = running_campaign(db, "camp_bounce", emails)
    with db.transaction() as s:
        mark_sent(s, list(ids.values()))
        ring = load_keyring(s)
        verp = {e: bounce_address(ring, pk, rid, DOMAIN) for e, rid in ids.items()}
    return pk, ids, verp


def _events(db, rid: int) -> list[tuple]:
    with db.reading() as s:
        rows = s.execute(
            text(
                "SELECT source, event_data, dedup_key FROM email_tracking"
                " WHERE campaign_recipient_id = :r AND event_type = 'bounce' ORDER BY id"
            ),
            {"r": rid},
        ).all()
    return [tuple(r) for r in rows]


def _state(db, email: str) -> tuple[str, str | None, bool]:
    with db.reading() as s:
        status, error = s.execute(
            text("SELECT status, error_message FROM campaign_recipients WHERE email_address = :e"),
            {"e": email},
        ).one()
        suppressed = s.execute(
            text("SELECT count(*) FROM suppressions WHERE lower(email_address) = lower(:e)"),
            {"e": email},
        ).scalar_one()
    return status, error, suppressed > 0


def test_bounces_of_each_kind_piped_to_the_real_command(db, db_url):
    emails = ["pf@recipient.test", "ex@recipient.test", "gm@gmail.test", "late@recipient.test"]
    _pk, ids, verp = _setup(db, emails)

    # Postfix's DSN, the envelope recipient given as Postfix's pipe passes ${recipient}.
    code, err = _pipe(db_url, "postfix_hard.eml", verp[emails[0]], emails[0], "-r", verp[emails[0]])
    assert code == 0 and "recorded: hard bounce 5.1.1" in err, err
    [(source, data, key)] = _events(db, ids[emails[0]])
    assert source == "bounce-pipe" and key.startswith(f"bounce-pipe:{ids[emails[0]]}:")
    assert data["bounce_type"] == "hard" and data["error_code"] == "550"
    assert data["enhanced_status"] == "5.1.1" and "User unknown" in data["error_message"]
    status, error, suppressed = _state(db, emails[0])
    assert status == "bounced" and "User unknown" in error and suppressed

    # The same DSN piped again (the MTA retried): stored once.
    code, err = _pipe(db_url, "postfix_hard.eml", verp[emails[0]], emails[0], "-r", verp[emails[0]])
    assert code == 0 and "a duplicate" in err, err
    assert len(_events(db, ids[emails[0]])) == 1

    # Exim's plain-text bounce (flufl.bounce), the recipient from its headers (no -r).
    code, err = _pipe(db_url, "exim_hard.eml", verp[emails[1]], emails[1])
    assert code == 0, err
    [(_, data, _)] = _events(db, ids[emails[1]])
    assert (data["bounce_type"], data["error_code"], data["enhanced_status"]) == (
        "hard",
        "550",
        "5.1.1",
    )
    assert _state(db, emails[1])[2]

    # Gmail's own format and a delay warning (4.4.1: soft, not suppressed), read in this
    # process (each `campaigns` process costs ~2 s of imports on a loaded machine).
    for email, name in ((emails[2], "gmail_hard.eml"), (emails[3], "postfix_delayed.eml")):
        assert _ingest_here(db, name, verp[email], email).recorded
    [(_, data, _)] = _events(db, ids[emails[2]])
    assert data["bounce_type"] == "hard" and data["enhanced_status"] == "5.1.1"
    assert "NoSuchUser" in data["error_message"] and _state(db, emails[2])[2]
    [(_, data, _)] = _events(db, ids[emails[3]])
    assert data["bounce_type"] == "soft" and data["enhanced_status"] == "4.4.1"
    assert data["error_code"] == "4.4.1" and "timed out" in data["error_message"]
    assert _state(db, emails[3])[0] == "bounced" and not _state(db, emails[3])[2]
    assert_counters_match(db_url)


def test_refused_ignored_and_the_database_away(db, db_url):
    emails = ["a@recipient.test", "b@recipient.test"]
    _pk, ids, verp = _setup(db, emails)
    a, b = emails
    # A forged token (its last characters changed): names nobody, nothing written.
    good = verp[a]
    local, _, domain = good.partition("@")
    forged = f"{local[:-4]}{'AAAA' if not local.endswith('AAAA') else 'BBBB'}@{domain}"
    code, err = _pipe(db_url, "postfix_hard.eml", forged, a, "--recipient", forged)
    assert code == 65 and "names no recipient of ours" in err, err
    # No bounce at all (a reply to the campaign's return path).
    code, err = _pipe(db_url, "not_a_bounce.eml", verp[a], a)
    assert code == 65 and "no bounce" in err, err
    # A DSN that reports delivery: ignored, nothing written.
    assert _ingest_here(db, "delivered.eml", verp[b], b).failure.ignored == "relayed"
    assert _events(db, ids[a]) == [] and _events(db, ids[b]) == []
    assert _state(db, a) == ("sent", None, False) and _state(db, b) == ("sent", None, False)
    # The database away: 75, so the MTA keeps the message and tries again.
    code, err = _pipe("postgresql://postgres@127.0.0.1:9/none", "postfix_hard.eml", good, a)
    assert code == 75 and "try again" in err, err
    assert_counters_match(db_url)
