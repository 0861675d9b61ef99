"""The world the hostile-input tests share: one seeded database per module, and its ids."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from core.store import Database
from tests.tui.data import seed


@dataclass
class World:
    url: str
    db: Database
    campaign: dict[str, int]  # campaign_id -> campaigns.id
    recipient: dict[str, int]  # first name (ana, ines, ...) of camp_spring -> recipient id


def make_world(url: str) -> World:
    db = Database(url)
    with db.transaction() as session:
        seed(session)
    with psycopg.connect(url) as conn:
        campaign = dict(conn.execute("SELECT campaign_id, id FROM campaigns"))
        recipient = dict(
            conn.execute(
                "SELECT split_part(email_address, '@', 1), r.id FROM campaign_recipients r"
                " JOIN campaigns c ON c.id = r.campaign_id WHERE c.campaign_id = 'camp_spring'"
            )
        )
    return World(url, db, campaign, recipient)


@dataclass(frozen=True)
class Case:
    """One hostile input. Refused: `raises` and `says` (a substring of the message), and the
    database unchanged. Legal: `check(world, result)` asserts it was stored literally."""

    id: str
    call: Callable[..., Any]
    raises: type[BaseException] | None = None
    says: str = ""
    check: Callable[[World, Any], None] | None = None
    files: dict[str, bytes] = field(default_factory=dict)

    def matches(self) -> str:
        return re.escape(self.says)


def one(url: str, query: str, *params) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
        return None if row is None else row[0]


def record_notifications(app) -> list[str]:
    """Every notification the app raises from now on. (app._notifications drops them as they
    expire, which on a loaded machine can happen before a test looks.)"""
    noted: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        noted.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return noted
