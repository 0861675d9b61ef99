"""The delivery issue end to end, through the app: a templated draft campaign with recipients,
`s` pressed in the app (Pilot), a real sender (core.delivery.Sender with the messages of
core.messages, in a thread) delivering to aiosmtpd, the pixel and a link of one received message
fetched through a real `campaigns serve`, and the recipients screen showing the open and the
click with no key pressed (live refresh)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import httpx
import pytest

from core import tracking
from core.delivery import Sender, parse_relay
from core.messages import MessageBuilder, set_mail_from
from core.store import FeedState
from tests.delivery.data import FAST
from tests.delivery.relay import Behaviour, LoopbackRelay
from tests.delivery.test_templated import Hrefs
from tests.endpoint.server import start_server
from tests.factories import make_campaign, make_recipients
from tests.tui.helpers import campaign_row, select_campaign
from tests.tui.test_endpoint_live import until
from tui.screens.recipients import RecipientsScreen

pytestmark = pytest.mark.slow
COUNT = 6


def _header(app) -> str:
    return str(app.screen.query_one("#stats").render())


async def test_s_in_the_app_sends_and_the_open_and_click_show_live(
    make_app, db, db_url, ids, tmp_path
):
    server = await asyncio.to_thread(start_server, db_url, tmp_path / "spool")
    relay = LoopbackRelay(Behaviour()).start()
    try:
        with db.transaction() as s:
            c = make_campaign(s, "camp_e2e", name="End to end", template_id=ids["template"])
            make_recipients(s, c, COUNT)
            tracking.set_public_url(s, server.url)
            set_mail_from(s, "Spring News <news@mail.example.test>")
        app = make_app(live=True)
        async with app.run_test(size=(120, 40)) as pilot:  # live: settle() would wait for ever
            await until(
                lambda: (
                    bool(getattr(app.screen, "summaries", None))
                    and app.feed_status is not None
                    and app.feed_status.state is FeedState.LIVE
                ),
                what="the live campaigns screen",
            )
            await select_campaign(pilot, "camp_e2e")
            await pilot.press("s")
            await until(lambda: type(app.screen).__name__ == "ConfirmDialog", what="the question")
            await pilot.press("y")
            await until(lambda: campaign_row(db, "camp_e2e").status == "running", what="started")
            sender = Sender(
                db, parse_relay(relay.url), MessageBuilder(), replace(FAST, campaigns=("camp_e2e",))
            )
            totals = await asyncio.to_thread(asyncio.run, sender.run())
            assert totals.sent == COUNT and len(relay.behaviour.received) == COUNT
            await select_campaign(pilot, "camp_e2e")
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, RecipientsScreen), what="recipients")
            await until(lambda: bool(app.screen.query("#stats")), what="the header")
            await until(lambda: re.search(r"Sent\s+6\b", _header(app)) is not None, what="sent")
            assert re.search(r"Opened\s+0\b", _header(app)), _header(app)
            # One recipient opens the message it received and clicks its first link.
            found = Hrefs()
            found.feed(relay.behaviour.received[2].message.get_body(("html",)).get_content())
            async with httpx.AsyncClient(timeout=10) as client:
                assert (await client.get(found.images[0])).status_code == 200
                click = next(h for h in found.hrefs if "/click/" in h)
                assert (await client.get(click)).status_code == 302
            await until(
                lambda: (
                    re.search(r"Opened\s+1\b", _header(app)) is not None
                    and re.search(r"Clicked\s+1\b", _header(app)) is not None
                ),
                what="the open and the click on screen",
            )
    finally:
        relay.stop()
        assert await asyncio.to_thread(server.stop) == 0
