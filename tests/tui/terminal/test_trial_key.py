"""`T` on the recipients screen in a real terminal (the bytes a terminal sends): the dialog,
an address typed, Enter, and aiosmtpd receives the campaign's test message at that address."""

from __future__ import annotations

from sqlalchemy import text

from tests.delivery.relay import Behaviour, LoopbackRelay
from tests.tui.terminal.effects import RECIPIENTS_HOME, TRIAL_DIALOG
from tests.tui.terminal.terminal import KEY_BYTES
from tests.tui.terminal.walk import wait


def test_T_sends_a_test_message_in_a_terminal(terminal, db, paged_db, monkeypatch):
    with db.transaction() as s:  # the big campaign sends the seed's template
        s.execute(
            text("UPDATE campaigns SET template_id = :t WHERE id = :c"),
            {"t": paged_db["template"], "c": paged_db["big"]},
        )
    relay = LoopbackRelay(Behaviour()).start()
    monkeypatch.setenv("CAMPAIGN_CONSOLE_SMTP_URL", relay.url)
    try:
        t = terminal()
        t.send(b"g\r")
        wait(t, RECIPIENTS_HOME)
        t.send(b"T")
        t.wait_for(TRIAL_DIALOG)
        t.wait_quiet(0.3)
        t.send(b"me@example.org")
        t.wait_for("me@example.org")
        t.send(KEY_BYTES["enter"])
        t.wait_for("Test message sent to me@example.org", timeout=30)
        [received] = relay.behaviour.received
        assert received.rcpt_to == ("me@example.org",)
        assert received.message["Subject"].startswith("[test] ")
    finally:
        relay.stop()
