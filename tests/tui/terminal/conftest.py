"""The real-terminal suite: the `campaigns` command on a pty at 80x24, on a database seeded with
enough rows to page on every screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from core.store import Campaign, EmailTracking, Suppression
from tests.factories import make_campaign, make_recipients
from tests.tui.data import T0, seed
from tests.tui.terminal.terminal import Terminal, spawn_app

BIG = "camp_big"  # 250 recipients, 250 events
EXTRA_CAMPAIGNS = 210  # with the seed's 7: two pages of 200
SUPPRESSED = 150


@pytest.fixture
def paged_db(db) -> dict[str, int]:
    """tests/tui/data.seed, plus a campaign of 250 recipients with 250 events, 150 suppressed
    addresses and 210 more campaigns."""
    with db.transaction() as session:
        ids = seed(session)
        big = make_campaign(
            session,
            BIG,
            name="Big paging test",
            status="running",
            started_at=T0,
            created_at=T0 + timedelta(days=1),
        )
        recipient_ids = make_recipients(session, big, 250, status="sent", sent_at=T0)
        session.execute(
            insert(EmailTracking),
            [
                {
                    "campaign_recipient_id": rid,
                    "event_type": "open",
                    "event_data": {},
                    "created_at": T0 + timedelta(minutes=i),
                }
                for i, rid in enumerate(recipient_ids)
            ],
        )
        session.execute(
            insert(Suppression),
            [
                {"email_address": f"listed{i:03}@example.org", "reason": "manual"}
                for i in range(SUPPRESSED)
            ],
        )
        session.execute(
            insert(Campaign),
            [
                {
                    "campaign_id": f"camp_x{i:03}",
                    "name": f"Filler {i:03}",
                    "status": "draft",
                    "created_at": T0 - timedelta(days=30, minutes=i),
                }
                for i in range(EXTRA_CAMPAIGNS)
            ],
        )
        ids["big"] = big.id
        ids["big_first"] = recipient_ids[0]
    return ids


@pytest.fixture
def terminal(db_url, paged_db):
    """A function that starts the app in an 80x24 terminal; every one started is closed."""
    started: list[Terminal] = []

    def start(*args: str, size=(80, 24)) -> Terminal:
        t = spawn_app(db_url, *args, size=size)
        started.append(t)
        t.wait_for("sorted by", timeout=30)
        return t

    yield start
    for t in started:
        t.close()
