"""The event rollup's tables (migration 0007): kept by the database's triggers, read by
core.figures.rollup. Plain Tables on the models' metadata, so schema drift checks see them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, String, Table, Text
from sqlalchemy.types import TypeEngine

from core.store.enums import EventType
from core.store.models import Base

ROLLUP_RECIPIENT_COUNTS = (*(f"{t}_events" for t in EventType), "machine_open_events")
ROLLUP_RECIPIENT_COUNTS += ("machine_click_events",)
ROLLUP_EVENT_COUNTS = (*ROLLUP_RECIPIENT_COUNTS, "hard_bounce_events", "soft_bounce_events")
ROLLUP_RECIPIENT_FIGURES = (*(f"{t}_recipients" for t in EventType), "human_open_recipients")
ROLLUP_RECIPIENT_FIGURES += ("human_click_recipients",)


def _key_column(name: str) -> Column[int]:
    return Column(name, Integer, primary_key=True, autoincrement=False)


def _counts(names: tuple[str, ...], kind: type[TypeEngine[int]]) -> list[Column[int]]:
    return [Column(n, kind, nullable=False) for n in names]


rollup_campaigns = Table(
    "rollup_campaigns",
    Base.metadata,
    _key_column("campaign_id"),
    *_counts(ROLLUP_EVENT_COUNTS + ROLLUP_RECIPIENT_FIGURES, BigInteger),
)
rollup_hours = Table(
    "rollup_hours",
    Base.metadata,
    _key_column("campaign_id"),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("event_type", String(50), primary_key=True),
    *_counts(("events", "machine_events"), BigInteger),
)
rollup_links = Table(
    "rollup_links",
    Base.metadata,
    _key_column("campaign_id"),
    Column("url_key", LargeBinary, primary_key=True),  # sha256 of the URL
    Column("link_url", Text),
    *_counts(("clicks", "recipients"), BigInteger),
)
rollup_bounce_codes = Table(
    "rollup_bounce_codes",
    Base.metadata,
    _key_column("campaign_id"),
    Column("code_key", LargeBinary, primary_key=True),  # sha256 of kind and code
    Column("kind", String(10), nullable=False),
    Column("error_code", Text),
    *_counts(("bounces", "recipients"), BigInteger),
)
rollup_recipients = Table(
    "rollup_recipients",
    Base.metadata,
    _key_column("recipient_id"),
    Column("campaign_id", Integer, nullable=False, index=True),
    *_counts(ROLLUP_RECIPIENT_COUNTS, Integer),
)
rollup_recipient_keys = Table(
    "rollup_recipient_keys",
    Base.metadata,
    _key_column("recipient_id"),
    Column("key", LargeBinary, primary_key=True),
    Column("campaign_id", Integer, nullable=False, index=True),
    Column("events", Integer, nullable=False),
)
