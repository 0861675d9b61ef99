"""What the tests past one machine share: waiting in a live app, and a commit from elsewhere."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from core.store import FeedState
from tests.tui.helpers import select_campaign
from tui.screens.recipients import RecipientsScreen

# Ines of camp_spring was sent and never opened: another program records her open (the
# triggers count it: emails_opened 9 → 10).
OPEN_INES = (
    "INSERT INTO email_tracking (campaign_recipient_id, event_type, created_at)"
    " SELECT id, 'open', now() FROM campaign_recipients"
    " WHERE email_address = 'ines@example.com'"
    " AND campaign_id = (SELECT id FROM campaigns WHERE campaign_id = 'camp_spring');"
    "UPDATE campaign_recipients SET opened_at = now() WHERE email_address = 'ines@example.com'"
    " AND campaign_id = (SELECT id FROM campaigns WHERE campaign_id = 'camp_spring')"
)


async def until(
    predicate: Callable[[], bool],
    what: str,
    timeout: float = 20.0,
    extra: Callable[[], str] = lambda: "",
) -> None:
    """Wait for a live app (its feed worker never ends, so no settle())."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}: {extra()}"
        await asyncio.sleep(0.02)


def stats_text(app) -> str:
    return str(app.screen.query_one("#stats").render())


async def until_feed(app, state: FeedState) -> None:
    await until(lambda: app.feed_status is not None and app.feed_status.state is state, state)


async def open_spring(app, pilot) -> None:
    """From the campaign list to camp_spring's recipients, its header painted."""
    await until(lambda: bool(getattr(app.screen, "summaries", None)), "campaigns")
    await select_campaign(pilot, "camp_spring")
    await pilot.press("enter")
    await until(lambda: isinstance(app.screen, RecipientsScreen), "recipients")
    await until(lambda: "Opened  9" in stats_text(app), "stats", extra=lambda: stats_text(app))
