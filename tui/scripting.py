"""The scripting subcommands: stats, import-recipients, track, export, recount, status.

Each opens the database, calls core in one transaction, prints a result to stdout and
problems to stderr, and exits non-zero when it refused (having written nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from datetime import UTC, datetime

from core import campaigns, figures, local_time, recipients, store
from core import recipients as recipients_core
from core.campaigns import CampaignSummary
from core.errors import InvalidInput
from core.events import EventInput, InvalidEvents, record_events
from tui import analytics_commands
from tui import format as fmt

LIFECYCLE_ACTIONS = ("schedule", "unschedule", "start", "pause", "resume", "complete", "fail")


def _stat_dict(c: CampaignSummary) -> dict:
    return {key: figures.plain(getattr(c, key)) for key in campaigns.SUMMARY_KEYS}


def cmd_stats(args: argparse.Namespace, db) -> int:
    with db.reading() as session:
        if args.campaign:
            # The counters row: constant time, whatever the campaign's size.
            rows = [_stat_dict(campaigns.get_campaign(session, args.campaign))]
        else:
            rows = [_stat_dict(c) for c in _all_campaigns(session)]
    if args.json:
        # Control characters escaped, C1 ones (U+009B) too: still JSON, safe on a terminal.
        print(store.dumps(rows[0] if args.campaign else rows, indent=2))
        return 0
    for line in stats_table(rows):
        print(line)
    return 0


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


def stats_table(rows: list[dict]) -> list[str]:
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
    return [heading] + [line(c, _one_line(row["name"])) for c, row in zip(cells, rows, strict=True)]


def _one_line(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def _all_campaigns(session):
    offset = 0
    while True:
        page = campaigns.list_campaigns(
            session, order_by="created_at", descending=False, limit=1000, offset=offset
        )
        yield from page
        if len(page) < 1000:
            return
        offset += 1000


def cmd_import(args: argparse.Namespace, db) -> int:
    result = db.run(lambda session: recipients.import_csv(session, args.campaign, args.file))
    separated = {";": ", separated by semicolons", "\t": ", separated by tabs"}
    print(
        f"imported {result.added:,} recipients into {args.campaign} "
        f"({result.created_leads:,} new leads, {result.reused_leads:,} existing, "
        f"{result.already_in_campaign:,} already in the campaign, "
        f"{len(result.in_file_duplicates):,} repeated in the file, "
        f"{result.skipped_suppressed:,} suppressed and skipped"
        f"{separated.get(result.delimiter, '')})"
    )
    listed = sorted(result.errors + result.in_file_duplicates, key=lambda e: e.line)
    for problem in listed:
        print(f"line {problem.line}: {problem.reason}: {problem.value!r}", file=sys.stderr)
    if result.errors:
        print(f"{len(result.errors):,} lines were not imported", file=sys.stderr)
    return 0


def _read_events(source, skip_invalid: bool) -> tuple[list[EventInput], list[int], list[str]]:
    """Events of a JSON-lines stream, with each one's line number; blank lines skipped."""
    events, lines, problems = [], [], []
    for number, raw in enumerate(_utf8_lines(source), 1):
        if not raw.strip():
            continue
        try:
            events.append(EventInput.from_json(json.loads(raw), number))
            lines.append(number)
        except RecursionError:
            problem = f"Line {number}: JSON nested too deeply to be an event"
            if not skip_invalid:
                raise InvalidInput(problem) from None
            problems.append(problem)
        except json.JSONDecodeError as exc:
            problem = f"Line {number}: not JSON ({exc.msg} at column {exc.colno})"
            if not skip_invalid:
                raise InvalidInput(problem) from None
            problems.append(problem)
        except ValueError as exc:  # a number of more than 4,300 digits, say
            problem = f"Line {number}: can't be read as an event ({exc})"
            if not skip_invalid:
                raise InvalidInput(problem) from None
            problems.append(problem)
        except InvalidInput as exc:
            if not skip_invalid:
                raise
            problems.append(str(exc))
    return events, lines, problems


def _utf8_lines(source):
    number = 0
    try:
        for number, raw in enumerate(source, 1):  # noqa: B007  (read after the loop)
            yield raw
    except UnicodeDecodeError:
        raise InvalidInput(
            f"Line {number + 1} (or one soon after) is not UTF-8 text: save the file as UTF-8."
        ) from None


def cmd_track(args: argparse.Namespace, db) -> int:
    try:
        opener = nullcontext(sys.stdin) if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise InvalidInput(f"Can't read {args.file}: {exc.strerror}.") from None
    except ValueError:  # a NUL character in the path
        raise InvalidInput(f"Can't read {args.file!r}: not a file name.") from None
    with opener as source:
        events, lines, problems = _read_events(source, args.skip_invalid)
    try:
        result = db.run(
            lambda session: record_events(session, events, skip_invalid=args.skip_invalid)
        )
    except InvalidEvents as exc:
        shown = [f"line {lines[e.line - 1]}: {e.reason}" for e in exc.rejected[:20]]
        more = len(exc.rejected) - len(shown)
        raise InvalidInput(
            "nothing recorded; "
            + "; ".join(shown)
            + (f"; and {more:,} more" if more > 0 else "")
            + " (use --skip-invalid to record the valid events)"
        ) from None
    problems += [f"Line {lines[e.line - 1]}: {e.reason}" for e in result.rejected]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(
        f"recorded {fmt.plural(result.recorded, 'event')}"
        + (f", skipped {len(problems):,}" if problems else "")
    )
    return 0


def cmd_recount(args: argparse.Namespace, db) -> int:
    drifts = db.run(lambda session: figures.recount(session, args.campaign))
    if not drifts:
        print("counters match the recipient rows; nothing repaired")
    for d in drifts:
        print(f"{d.campaign_id}: {d.counter} was {d.stored:,}, now {d.actual:,}")
    return 0


def cmd_status(args: argparse.Namespace, db) -> int:
    # The app's schedule form reads a time the same way: no zone = the local zone.
    at = local_time.parse_time(args.at) if args.at else None
    if args.action == "schedule" and at is None:
        example = local_time.example_time(datetime.now(UTC)).isoformat(timespec="minutes")
        raise InvalidInput(f"schedule needs --at TIME (ISO-8601, e.g. {example})")
    summary = db.run(
        lambda session: campaigns.transition(session, args.campaign, args.action, at=at)
    )
    when = ""
    if args.action == "schedule" and summary.scheduled_at is not None:
        local = summary.scheduled_at.astimezone()
        label = local_time.zone_label(None, local)
        when = f" for {local.strftime('%Y-%m-%d %H:%M')} ({label})"
    print(f"{summary.campaign_id} is {summary.status}{when}")
    return 0


def cmd_duplicate(args: argparse.Namespace, db) -> int:
    result = db.run(
        lambda session: recipients_core.duplicate_campaign(session, args.campaign, name=args.name)
    )
    print(result.describe())
    return 0


def add_commands(sub, common: argparse.ArgumentParser, with_db) -> None:
    """Register the subcommands; with_db(fn) turns fn(args, db) into a handler(args)."""
    p = sub.add_parser("stats", parents=[common], help="campaign counters and rates")
    p.add_argument("campaign", nargs="?", help="a campaign id (default: every campaign)")
    p.add_argument("--json", action="store_true", help="JSON with the seed's column names")
    p.set_defaults(handler=with_db(cmd_stats))

    p = sub.add_parser("import-recipients", parents=[common], help="add recipients from a CSV")
    p.add_argument("campaign")
    p.add_argument("file", help="CSV of email[,name,company], header optional")
    p.set_defaults(handler=with_db(cmd_import))

    p = sub.add_parser("track", parents=[common], help="record events from JSON lines")
    p.add_argument("file", help="a .jsonl file, or - for standard input")
    p.add_argument("--skip-invalid", action="store_true", help="record the valid events only")
    p.set_defaults(handler=with_db(cmd_track))

    # Issue 6 (analytics helper): export's arguments and handler moved to
    # tui/analytics_commands.py (links and stats, several campaigns or --all, progress line).
    p = sub.add_parser(
        "export", parents=[common], help="recipients, events, links or stats as CSV or JSON"
    )
    analytics_commands.add_export_arguments(p)
    p.set_defaults(handler=with_db(analytics_commands.cmd_export))

    p = sub.add_parser("recount", parents=[common], help="repair counters from recipient rows")
    p.add_argument("campaign", nargs="?")
    p.set_defaults(handler=with_db(cmd_recount))

    p = sub.add_parser("status", parents=[common], help="move a campaign through its lifecycle")
    p.add_argument("campaign")
    p.add_argument("action", choices=LIFECYCLE_ACTIONS)
    p.add_argument(
        "--at",
        metavar="TIME",
        help="when, for schedule: ISO-8601 like 2030-01-01T09:00; without a zone (+01:00, Z),"
        " in the local zone (TZ)",
    )
    p.set_defaults(handler=with_db(cmd_status))

    p = sub.add_parser(
        "duplicate", parents=[common], help="copy a campaign as a draft, suppressed left out"
    )
    p.add_argument("campaign")
    p.add_argument("--name", help="the copy's name (default: the name + ' (copy)')")
    p.set_defaults(handler=with_db(cmd_duplicate))
