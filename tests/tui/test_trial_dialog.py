"""`T`, send a test message, through Pilot: on the recipients screen the campaign's message
rendered for its first recipient reaches the relay (aiosmtpd) at the address typed, "[test] "
before its Subject, nothing recorded on any recipient; on the templates screen the selected
template, rendered for the preview's sample recipient. Without a relay the dialog says how to
give one; a bad address is refused in the dialog."""

from __future__ import annotations

from sqlalchemy import text

from tests.delivery.relay import Behaviour, LoopbackRelay
from tests.tui.conftest import settle
from tests.tui.helpers import notifications, press, select_campaign
from tui.widgets.trial_dialog import TrialDialog


def _statuses(db) -> list[tuple]:
    with db.reading() as s:
        return [
            tuple(r)
            for r in s.execute(
                text(
                    "SELECT id, status, sent_at, opened_at, bounced_at FROM campaign_recipients"
                    " ORDER BY id"
                )
            )
        ]


async def _type(pilot, value: str) -> None:
    dialog = pilot.app.screen
    assert isinstance(dialog, TrialDialog)
    dialog.query_one("#address").value = value
    await press(pilot, "enter")
    await settle(pilot)


async def test_T_sends_a_test_message_from_recipients_and_templates(started, db, monkeypatch):
    relay = LoopbackRelay(Behaviour()).start()
    before = _statuses(db)
    try:
        monkeypatch.delenv("CAMPAIGN_CONSOLE_SMTP_URL", raising=False)
        async with started(size=(100, 30)) as (app, pilot):
            await select_campaign(pilot, "camp_spring")
            await press(pilot, "enter", "T")
            problem = str(app.screen.query_one("#problem").render())
            assert "CAMPAIGN_CONSOLE_SMTP_URL" in problem and "--smtp" in problem
            await press(pilot, "escape")
            monkeypatch.setenv("CAMPAIGN_CONSOLE_SMTP_URL", relay.url)
            await press(pilot, "T")
            await _type(pilot, "not an address")
            assert "is not an email address" in str(app.screen.query_one("#problem").render())
            await _type(pilot, "me@example.org")
            assert not isinstance(app.screen, TrialDialog)
            assert any("Test message sent to me@example.org" in n for n in notifications(app))
            [received] = relay.behaviour.received
            assert received.rcpt_to == ("me@example.org",)
            assert received.message["Subject"].startswith("[test] ")
            # The templates screen: the selected template, for the preview's sample.
            await press(pilot, "T", "T")
            assert isinstance(app.screen, TrialDialog)
            await _type(pilot, "you@example.org")
            assert len(relay.behaviour.received) == 2
            assert relay.behaviour.received[1].rcpt_to == ("you@example.org",)
            assert relay.behaviour.received[1].message["Subject"].startswith("[test] ")
    finally:
        relay.stop()
    assert _statuses(db) == before
