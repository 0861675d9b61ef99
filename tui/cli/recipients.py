"""The recipient subcommands: import-recipients (a CSV into a campaign) and suppression
(list, add, lift).

Like every subcommand: one core call per transaction, the result on stdout, problems on
stderr, exit 1 (having written nothing) when core refuses.
"""

from __future__ import annotations

import argparse
import sys

from core import recipients, store
from core.errors import InvalidInput
from tui.cli.common import Subcommands, one_line, subcommand, with_db


def cmd_import(args: argparse.Namespace, db: store.Database) -> int:
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


def cmd_suppression_list(args: argparse.Namespace, db: store.Database) -> int:
    with db.reading() as session:
        rows = recipients.list_suppressions(
            session, search=args.search, limit=args.limit, after_id=args.after
        )
    if args.json:
        data = [
            {
                "id": r.id,
                "email_address": r.email_address,
                "reason": str(r.reason),
                "source_event_id": r.source_event_id,
                "campaign": r.campaign,
                "created_at": r.created_at.isoformat(),
            }
            for r in rows
        ]
        print(store.dumps(data, indent=2))  # control characters escaped, C1 too
        return 0
    for r in rows:
        print(
            f"{r.id}  {one_line(r.email_address)}  {r.reason:<11}  {r.campaign or '-'}  "
            f"{r.created_at.isoformat(timespec='seconds')}"
        )
    if len(rows) == args.limit:
        print(f"(more after --after {rows[-1].id})", file=sys.stderr)
    return 0


def cmd_suppression_add(args: argparse.Namespace, db: store.Database) -> int:
    added = db.run(lambda session: recipients.suppress(session, args.email, args.reason))
    shown = one_line(args.email.strip())
    print(f"suppressed {shown}" if added else f"{shown} was already suppressed")
    return 0


def cmd_suppression_lift(args: argparse.Namespace, db: store.Database) -> int:
    lifted = db.run(lambda session: recipients.lift(session, args.email))
    shown = one_line(args.email.strip())
    if not lifted:
        raise InvalidInput(f"{shown} is not suppressed; nothing was lifted.")
    print(f"lifted the suppression of {shown}")
    return 0


def add_import_command(sub: Subcommands) -> None:
    p = subcommand(sub, "import-recipients", help="add recipients from a CSV")
    p.add_argument("campaign")
    p.add_argument("file", help="CSV of email[,name,company], header optional")
    p.set_defaults(handler=with_db(cmd_import))


def add_suppression_command(sub: Subcommands) -> None:
    p = subcommand(sub, "suppression", help="the suppression list")
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    a = subcommand(actions, "list", help="suppressed addresses, oldest first")
    a.add_argument("--search", metavar="TEXT", help="any part of an address")
    a.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    a.add_argument("--after", type=int, metavar="ID", help="start after this suppression id")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=with_db(cmd_suppression_list, reads_only=True))
    a = subcommand(actions, "add", help="suppress an address by hand")
    a.add_argument("email")
    a.add_argument("--reason", choices=recipients.REASONS, default="manual")
    a.set_defaults(handler=with_db(cmd_suppression_add))
    a = subcommand(actions, "lift", help="take an address off the list")
    a.add_argument("email")
    a.set_defaults(handler=with_db(cmd_suppression_lift))
