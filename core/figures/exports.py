"""Exports as CSV, JSON (one array) or JSON lines: a campaign's recipients or events (streamed
by keyset), its link table, and the stats of one campaign, several, or all of them. Every
format streams: the JSON array is written a row at a time, never held in memory. JSON escapes
every control character (C0 and C1, as \\u escapes), so it is safe to print and reads back
to the same values.

Every export takes on_progress(done, total) for a progress bar: called before the first row,
every PROGRESS_EVERY rows and after the last; total is None where no counter knows it (events).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.campaigns import campaign_key, resolve_campaign
from core.errors import InvalidInput
from core.figures.analytics import CampaignStats, campaign_stats, link_clicks
from core.store import Campaign, CampaignRecipient, DeepJson, EmailTracking, escape_controls

Progress = Callable[[int, int | None], None]
PROGRESS_EVERY = 1000

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
LINK_FIELDS = ("url", "unique_clicks", "total_clicks", "share")  # share: % of all clicks
# Every figure of CampaignStats; not created_by (a user's id, not a figure of the campaign).
STAT_FIELDS = tuple(f.name for f in dataclasses.fields(CampaignStats) if f.name != "created_by")
WHATS = ("recipients", "events", "links", "stats")
FORMATS = ("csv", "json", "jsonl")


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


def iter_links(session: Session, campaign: int | str) -> Iterator[dict]:
    """The link table: url (None for clicks naming no link), unique and total clicks, and the
    link's share of the campaign's clicks in percent (2 decimals), most clicked first."""
    links = link_clicks(session, campaign)
    clicks = sum(link.total_clicks for link in links)
    for link in links:
        share = round(link.total_clicks * 100.0 / clicks, 2) if clicks else 0.0
        yield {
            "url": link.url,
            "unique_clicks": link.unique_clicks,
            "total_clicks": link.total_clicks,
            "share": share,
        }


def _stats_row(stats: CampaignStats) -> dict[str, Any]:
    row = {k: getattr(stats, k) for k in STAT_FIELDS}
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}


def campaign_refs(session: Session, campaigns: Sequence[int | str] | None) -> list[int]:
    """campaigns.id of each campaign named (by id or campaign_id), in the order given, without
    repeats; None = every campaign, oldest first. NotFound names the first unknown one, before
    anything is written."""
    if campaigns is None:
        return list(session.scalars(select(Campaign.id).order_by(Campaign.id)))
    if isinstance(campaigns, str | bytes | int):
        raise InvalidInput(f"Give a list of campaigns, not {campaigns!r}.")
    if not campaigns:
        raise InvalidInput("Name at least one campaign (or all of them).")
    return list(dict.fromkeys(campaign_key(session, c)[0] for c in campaigns))


def iter_stats(session: Session, campaign_ids: Sequence[int]) -> Iterator[dict]:
    """Every CampaignStats field of each campaign (campaigns.id), rates to 2 decimals."""
    for pk in campaign_ids:
        yield _stats_row(campaign_stats(session, pk))


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
    if isinstance(value, DeepJson):
        text = value.text
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(plain(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}: use csv, json or jsonl.")


def json_row(row: dict, fields: tuple[str, ...]) -> str:
    """One row as a JSON object (json.dumps's layout); a DeepJson value as it was stored."""
    values = {f: plain(row[f]) for f in fields}
    if not any(isinstance(v, DeepJson) for v in values.values()):
        return escape_controls(json.dumps(values, ensure_ascii=False))
    parts = []
    for f, value in values.items():
        text = value.text if isinstance(value, DeepJson) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{json.dumps(f)}: {text}")
    return escape_controls("{" + ", ".join(parts) + "}")


def write(
    rows: Iterator[dict],
    fields: tuple[str, ...],
    fmt: str,
    out: IO[str],
    *,
    on_progress: Progress | None = None,
    total: int | None = None,
) -> int:
    """Write rows as CSV (with a header), a JSON array (one object a row, a row a line) or
    JSON lines; returns how many rows were written."""
    _check_format(fmt)
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(fields)

        def emit(row: dict) -> None:
            writer.writerow([spreadsheet_safe(row[f]) for f in fields])
    elif fmt == "jsonl":

        def emit(row: dict) -> None:
            out.write(json_row(row, fields) + "\n")
    else:
        out.write("[")
        separator = ["\n"]

        def emit(row: dict) -> None:
            out.write(separator[0] + json_row(row, fields))
            separator[0] = ",\n"

    count = 0
    if on_progress is not None:
        on_progress(0, total)
    for row in rows:
        emit(row)
        count += 1
        if on_progress is not None and count % PROGRESS_EVERY == 0:
            on_progress(count, total)
    if fmt == "json":
        out.write("\n]\n" if count else "]\n")
    if on_progress is not None:
        on_progress(count, total if total is not None else count)
    return count


def export(
    session: Session,
    campaign: int | str,
    what: str,
    fmt: str,
    out: IO[str],
    *,
    on_progress: Progress | None = None,
) -> int:
    """Write one campaign's recipients, events, link table or stats; returns rows written.
    InvalidInput for an unknown `what` or format, NotFound for an unknown campaign (both
    before anything is written)."""
    if what not in WHATS:
        raise InvalidInput(f"Unknown export {what!r}: use links, stats, recipients or events.")
    _check_format(fmt)
    if what == "stats":
        return export_stats(session, [campaign], fmt, out, on_progress=on_progress)
    if what == "links":
        links = list(iter_links(session, campaign))
        return write(iter(links), LINK_FIELDS, fmt, out, on_progress=on_progress, total=len(links))
    if what == "recipients":
        total = resolve_campaign(session, campaign).total_recipients
        rows = iter_recipients(session, campaign)
        return write(rows, RECIPIENT_FIELDS, fmt, out, on_progress=on_progress, total=total)
    resolve_campaign(session, campaign)  # NotFound before the header is written
    rows = iter_events(session, campaign)
    return write(rows, EVENT_FIELDS, fmt, out, on_progress=on_progress)


def export_stats(
    session: Session,
    campaigns: Sequence[int | str] | None,
    fmt: str,
    out: IO[str],
    *,
    on_progress: Progress | None = None,
) -> int:
    """Every CampaignStats field of the campaigns named (None = all), one row each; returns
    rows written. The total for on_progress is the number of campaigns."""
    _check_format(fmt)
    ids = campaign_refs(session, campaigns)
    rows = iter_stats(session, ids)
    return write(rows, STAT_FIELDS, fmt, out, on_progress=on_progress, total=len(ids))
