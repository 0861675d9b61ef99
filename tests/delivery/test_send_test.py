"""A test message: `campaigns send-test CAMPAIGN ADDRESS` as a real process, received by aiosmtpd:
the campaign's message rendered for its first recipient, to the given address, "[test] " before
its Subject, nothing that leads a bounce or an unsubscribe back to the recipient, and nothing
recorded on any recipient. Refusals (no relay, a bad address, the relay saying no) say why."""

from __future__ import annotations

import os
import subprocess

from sqlalchemy import text

from core.messages import add_template, set_mail_from
from tests.core.test_counters import assert_counters_match
from tests.delivery.data import recipients, running_campaign
from tests.delivery.process import CAMPAIGNS, REPO
from tests.delivery.relay import Behaviour, LoopbackRelay
from tui.cli.main import main

HTML = '<p>Hello {{ name }}</p><p><a href="https://example.com/spring">spring</a></p>'


def templated_campaign(db, campaign_id: str = "camp_trial") -> tuple[int, dict[str, int]]:
    pk, ids = running_campaign(db, campaign_id, ["first@a.test", "second@a.test"])
    with db.transaction() as s:
        set_mail_from(s, "Acme News <news@mail.example.com>")
        t = add_template(s, name="Spring", subject="Spring for {{ name }}", html_body=HTML)
        s.execute(text("UPDATE campaigns SET template_id = :t WHERE id = :c"), {"t": t.id, "c": pk})
    return pk, ids


def send_test(db_url: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, DATABASE_URL=db_url, PYTHONPATH=str(REPO), **(env or {}))
    environment.pop("CAMPAIGN_CONSOLE_SMTP_URL", None)
    return subprocess.run(
        [str(CAMPAIGNS), "send-test", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=120,
    )


def test_send_test_command(db, db_url, monkeypatch, capsys):
    pk, _ids = templated_campaign(db)
    before = recipients(db, pk)
    relay = LoopbackRelay(Behaviour()).start()
    try:
        done = send_test(db_url, "camp_trial", "me@example.org", "--smtp", relay.url)
        assert done.returncode == 0, done.stderr
        assert "sent a test message of camp_trial to me@example.org: 250" in done.stdout
        [received] = relay.behaviour.received
        message = received.message
        assert received.rcpt_to == ("me@example.org",) and received.mail_from == (
            "news@mail.example.com"
        )
        assert message["Subject"] == "[test] Spring for first" and message["To"] == "me@example.org"
        assert "cc-test" in message["Message-ID"]
        for name in ("Return-Path", "List-Unsubscribe", "X-Campaign-Console-Recipient"):
            assert message[name] is None, name
        assert "Hello first" in message.get_body(("html",)).get_content()
        # No relay: how to give one. A bad address, or the relay saying no: why.
        # (in this process: each `campaigns` process costs ~2 s of imports on a busy machine)
        monkeypatch.delenv("CAMPAIGN_CONSOLE_SMTP_URL", raising=False)
        args = ["--database-url", db_url, "send-test", "camp_trial"]
        assert main([*args, "me@example.org"]) == 1
        assert "CAMPAIGN_CONSOLE_SMTP_URL" in capsys.readouterr().err
        assert main([*args, "not an address", "--smtp", relay.url]) == 1
        assert "is not an email address" in capsys.readouterr().err
        done = send_test(db_url, "camp_trial", "nouser@x.test", "--smtp", relay.url)
        assert done.returncode == 1 and "refused the test message: 550" in done.stderr
    finally:
        relay.stop()
    assert len(relay.behaviour.received) == 1
    assert recipients(db, pk) == before  # nothing recorded on any recipient
    with db.reading() as s:
        assert s.execute(text("SELECT count(*) FROM send_attempts")).scalar_one() == 0
        assert s.execute(text("SELECT count(*) FROM email_tracking")).scalar_one() == 0
    assert_counters_match(db_url)
