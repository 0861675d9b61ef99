"""The campaign subcommands: stats, recount, status (the lifecycle) and duplicate.

Like every subcommand: one core call per transaction, the result on stdout, problems on
stderr, exit 1 (having written nothing) when core refuses.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from core import campaigns, figures, local_time, messages, recipients, store
from core.campaigns import CampaignSummary
from core.errors import InvalidInput
from tui.cli.common import Subcommands, one_line, subcommand, with_db

LIFECYCLE_ACTIONS = ("schedule", "unschedule", "start", "pause", "resume", "complete", "fail")
_PAGE = 1000


def _stat_dict(c: CampaignSummary) -> dict[str, Any]:
    return {key: figures.plain(getattr(c, key)) for key in campaigns.SUMMARY_KEYS}


def cmd_stats(args: argparse.Namespace, db: store.Database) -> int:
    with db.reading() as session:
        if args.campaign:
            # The counters row: constant time, whatever the campaign's size.
            rows = [_stat_dict(campaigns.get_campaign(session, args.campaign))]
        else:

            def page(offset: int) -> list[CampaignSummary]:
                return campaigns.list_campaigns(
                    session, order_by="created_at", descending=False, limit=_PAGE, offset=offset
                )

            rows = [_stat_dict(c) for c in _every(page)]
    if args.json:
        # Control characters escaped, C1 ones (U+009B) too: still JSON, safe on a terminal.
        print(store.dumps(rows[0] if args.campaign else rows, indent=2))
        return 0
    for line in stats_table(rows):
        print(line)
    return 0


def _every(page: Callable[[int], list[CampaignSummary]]) -> Iterator[CampaignSummary]:
    """Every campaign, a page at a time (page(offset) reads one)."""
    offset = 0
    while True:
        found = page(offset)
        yield from found
        if len(found) < _PAGE:
            return
        offset += _PAGE


# (heading, key, format); numbers right-aligned, the name last and not padded.
_STATS_COLUMNS = (
    ("CAMPAIGN", "campaign_id", "{}"),
    ("STATUS", "status", "{}"),
    ("RECIPIENTS", "total_recipients", "{:,}"),
    ("SENT", "emails_sent", "{:,}"),
    ("OPEN %", "open_rate", "{:.1f}"),
    ("CLICK %", "click_rate", "{:.1f}"),
    ("REPLY %", "reply_rate", "{:.1f}"),
    ("BOUNCE %", "bounce_rate", "{:.1f}"),
)


def stats_table(rows: list[dict[str, Any]]) -> list[str]:
    """The stats as a table whose columns line up: a heading, then a line per campaign."""
    cells = [[fmt.format(row[key]) for _, key, fmt in _STATS_COLUMNS] for row in rows]
    widths = [
        max([len(heading), *(len(c[i]) for c in cells)])
        for i, (heading, _, _) in enumerate(_STATS_COLUMNS)
    ]

    def line(values: list[str], name: str) -> str:
        parts = [
            v.ljust(w) if i < 2 else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join([*parts, name])

    heading = line([h for h, _, _ in _STATS_COLUMNS], "NAME")
    return [heading] + [line(c, one_line(row["name"])) for c, row in zip(cells, rows, strict=True)]


def cmd_recount(args: argparse.Namespace, db: store.Database) -> int:
    drifts = db.run(lambda session: figures.recount(session, args.campaign))
    if not drifts:
        print("counters match the recipient rows; nothing repaired")
    for d in drifts:
        print(f"{d.campaign_id}: {d.counter} was {d.stored:,}, now {d.actual:,}")
    return 0


def _move(session: Any, campaign: str, action: str, at: datetime | None) -> CampaignSummary:
    """The move; before a start, the template renders for the first recipient (core.messages)."""
    if action == "start":
        messages.check_renders(session, campaign)
    return campaigns.transition(session, campaign, action, at=at)


def cmd_status(args: argparse.Namespace, db: store.Database) -> int:
    # The app's schedule form reads a time the same way: no zone = the local zone.
    at = local_time.parse_time(args.at) if args.at else None
    if args.action == "schedule" and at is None:
        example = local_time.example_time(datetime.now(UTC)).isoformat(timespec="minutes")
        raise InvalidInput(f"schedule needs --at TIME (ISO-8601, e.g. {example})")
    summary = db.run(lambda session: _move(session, args.campaign, args.action, at))
    when = ""
    if args.action == "schedule" and summary.scheduled_at is not None:
        local = summary.scheduled_at.astimezone()
        label = local_time.zone_label(None, local)
        when = f" for {local.strftime('%Y-%m-%d %H:%M')} ({label})"
    print(f"{summary.campaign_id} is {summary.status}{when}")
    return 0


def cmd_duplicate(args: argparse.Namespace, db: store.Database) -> int:
    result = db.run(
        lambda session: recipients.duplicate_campaign(session, args.campaign, name=args.name)
    )
    print(result.describe())
    return 0


def add_stats_command(sub: Subcommands) -> None:
    p = subcommand(sub, "stats", help="campaign counters and rates")
    p.add_argument("campaign", nargs="?", help="a campaign id (default: every campaign)")
    p.add_argument("--json", action="store_true", help="JSON with the seed's column names")
    p.set_defaults(handler=with_db(cmd_stats, reads_only=True))


def add_commands(sub: Subcommands) -> None:
    """recount, status and duplicate (stats is add_stats_command, first in the help)."""
    p = subcommand(sub, "recount", help="repair counters from recipient rows")
    p.add_argument("campaign", nargs="?")
    p.set_defaults(handler=with_db(cmd_recount))

    p = subcommand(sub, "status", help="move a campaign through its lifecycle")
    p.add_argument("campaign")
    p.add_argument("action", choices=LIFECYCLE_ACTIONS)
    p.add_argument(
        "--at",
        metavar="TIME",
        help="when, for schedule: ISO-8601 like 2030-01-01T09:00; without a zone (+01:00, Z),"
        " in the local zone (TZ)",
    )
    p.set_defaults(handler=with_db(cmd_status))

    p = subcommand(sub, "duplicate", help="copy a campaign as a draft, suppressed left out")
    p.add_argument("campaign")
    p.add_argument("--name", help="the copy's name (default: the name + ' (copy)')")
    p.set_defaults(handler=with_db(cmd_duplicate))
