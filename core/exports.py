"""Exports: a campaign's recipients or events streamed by keyset, as CSV or JSON lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.campaigns import resolve_campaign
from core.errors import InvalidInput
from core.models import CampaignRecipient, EmailTracking

RECIPIENT_FIELDS = (
    "id",
    "email_address",
    "lead_id",
    "status",
    "sent_at",
    "opened_at",
    "clicked_at",
    "replied_at",
    "bounced_at",
    "error_message",
    "created_at",
)
EVENT_FIELDS = (
    "id",
    "campaign_recipient_id",
    "email_address",
    "event_type",
    "event_data",
    "user_agent",
    "ip_address",
    "created_at",
)
WHATS = ("recipients", "events")
FORMATS = ("csv", "json")


def iter_recipients(session: Session, campaign: int | str, *, batch: int = 5000) -> Iterator[dict]:
    campaign_pk = resolve_campaign(session, campaign).id
    columns = [getattr(CampaignRecipient, f) for f in RECIPIENT_FIELDS]
    last = 0
    while True:
        rows = session.execute(
            select(*columns)
            .where(CampaignRecipient.campaign_id == campaign_pk, CampaignRecipient.id > last)
            .order_by(CampaignRecipient.id)
            .limit(batch)
        ).all()
        for row in rows:
            yield dict(zip(RECIPIENT_FIELDS, row, strict=True))
        if len(rows) < batch:
            return
        last = rows[-1][0]


def iter_events(session: Session, campaign: int | str, *, batch: int = 5000) -> Iterator[dict]:
    campaign_pk = resolve_campaign(session, campaign).id
    last = 0
    while True:
        rows = session.execute(
            select(
                EmailTracking.id,
                EmailTracking.campaign_recipient_id,
                CampaignRecipient.email_address,
                EmailTracking.event_type,
                EmailTracking.event_data,
                EmailTracking.user_agent,
                EmailTracking.ip_address,
                EmailTracking.created_at,
            )
            .join(CampaignRecipient, CampaignRecipient.id == EmailTracking.campaign_recipient_id)
            .where(CampaignRecipient.campaign_id == campaign_pk, EmailTracking.id > last)
            .order_by(EmailTracking.id)
            .limit(batch)
        ).all()
        for row in rows:
            yield dict(zip(EVENT_FIELDS, row, strict=True))
        if len(rows) < batch:
            return
        last = rows[-1][0]


def plain(value: Any) -> Any:
    """A JSON-ready value: timestamps as ISO-8601, enums and addresses as strings."""
    if value is None or isinstance(value, bool | int | float | dict | list):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> str:
    """A CSV cell a spreadsheet won't run: text starting like a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(plain(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def write(rows: Iterator[dict], fields: tuple[str, ...], fmt: str, out: IO[str]) -> int:
    """Write rows as CSV (with a header) or JSON lines; returns how many rows were written."""
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}: use csv or json.")
    count = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(fields)
        for row in rows:
            writer.writerow([spreadsheet_safe(row[f]) for f in fields])
            count += 1
    else:
        for row in rows:
            out.write(json.dumps({f: plain(row[f]) for f in fields}, ensure_ascii=False) + "\n")
            count += 1
    return count


def export(session: Session, campaign: int | str, what: str, fmt: str, out: IO[str]) -> int:
    if what not in WHATS:
        raise InvalidInput(f"Unknown export {what!r}: use recipients or events.")
    if what == "recipients":
        return write(iter_recipients(session, campaign), RECIPIENT_FIELDS, fmt, out)
    return write(iter_events(session, campaign), EVENT_FIELDS, fmt, out)
