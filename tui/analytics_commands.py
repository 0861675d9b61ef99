"""Scripting subcommands of issue 6: reclassify, suppression (list, add, lift), and export.

add_commands(sub, common, with_db) registers reclassify and suppression; export is registered
by tui/scripting.py through add_export_arguments and cmd_export below. Like the other
subcommands: one core call per transaction, results on stdout, problems on stderr, exit 1
(having written nothing) when core refuses.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import IO

from core import events, figures, output_file, recipients, store
from core.errors import InvalidInput
from tui import format as fmt

PER_CAMPAIGN = ("recipients", "events", "links")


def _one_line(text: str) -> str:
    """Outside text on one terminal line: control characters shown escaped, never run."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


# --- reclassify --------------------------------------------------------------------------------


def cmd_reclassify(args: argparse.Namespace, db) -> int:
    if args.too_fast is None:
        settings = events.current_settings()
    else:
        settings = events.Settings.uniform(args.too_fast)
    changed = db.run(lambda session: events.reclassify(session, args.campaign, settings=settings))
    scope = args.campaign or "all campaigns"
    window = f"{settings.too_fast_open:g} s" if settings.too_fast_open else "off"
    print(
        f"{fmt.plural(changed, 'event')} changed verdict in {scope} "
        f"(rules: {', '.join(events.RULE_NAMES)}; too-fast window {window})"
    )
    return 0


# --- suppression -------------------------------------------------------------------------------


def cmd_suppression_list(args: argparse.Namespace, db) -> int:
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
            f"{r.id}  {_one_line(r.email_address)}  {r.reason:<11}  {r.campaign or '-'}  "
            f"{r.created_at.isoformat(timespec='seconds')}"
        )
    if len(rows) == args.limit:
        print(f"(more after --after {rows[-1].id})", file=sys.stderr)
    return 0


def cmd_suppression_add(args: argparse.Namespace, db) -> int:
    added = db.run(lambda session: recipients.suppress(session, args.email, args.reason))
    shown = _one_line(args.email.strip())
    print(f"suppressed {shown}" if added else f"{shown} was already suppressed")
    return 0


def cmd_suppression_lift(args: argparse.Namespace, db) -> int:
    lifted = db.run(lambda session: recipients.lift(session, args.email))
    shown = _one_line(args.email.strip())
    if not lifted:
        raise InvalidInput(f"{shown} is not suppressed; nothing was lifted.")
    print(f"lifted the suppression of {shown}")
    return 0


# --- export ------------------------------------------------------------------------------------


def add_export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "campaigns",
        nargs="*",
        metavar="CAMPAIGN",
        help="a campaign id (--what stats: one or more)",
    )
    p.add_argument("--all", action="store_true", help="--what stats: every campaign")
    p.add_argument("--what", choices=figures.WHATS, default="recipients")
    p.add_argument("--format", choices=figures.FORMATS, default="csv")
    p.add_argument("-o", "--output", metavar="PATH", help="file to write (default: stdout)")


def _check_export_args(args: argparse.Namespace) -> None:
    if args.what in PER_CAMPAIGN:
        if args.all or len(args.campaigns) != 1:
            raise InvalidInput(f"export --what {args.what} takes exactly one campaign id.")
    elif args.all == bool(args.campaigns):
        raise InvalidInput("export --what stats takes one or more campaign ids, or --all.")


class _ProgressLine:
    """A progress line on stderr, at most ten updates a second, cleared at the end."""

    def __init__(self, what: str, stream: IO[str]):
        self.what, self.stream, self.last = what, stream, 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done != total:
            return
        self.last = now
        if total:
            line = f"exporting {self.what}: {done:,} of {total:,} ({done * 100 // total}%)"
        else:
            line = f"exporting {self.what}: {done:,}"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()


class _TerminalStream:
    """Rows bound for a terminal: control characters shown as \\xNN (as the app shows them),
    never run. Only for a terminal: a file or a pipe gets the bytes exactly."""

    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(fmt.terminal_text(text))


def _run_export(session, args: argparse.Namespace, out: IO[str], on_progress) -> int:
    if args.what == "stats":
        campaigns = None if args.all else args.campaigns
        return figures.export_stats(session, campaigns, args.format, out, on_progress=on_progress)
    return figures.export(
        session, args.campaigns[0], args.what, args.format, out, on_progress=on_progress
    )


def cmd_export(args: argparse.Namespace, db) -> int:
    _check_export_args(args)
    # A progress line only where a person watches it, and not over the exported rows.
    show = sys.stderr.isatty() and (bool(args.output) or not sys.stdout.isatty())
    progress = _ProgressLine(args.what, sys.stderr) if show else None
    try:
        if not args.output:
            out = _TerminalStream(sys.stdout) if sys.stdout.isatty() else sys.stdout
            with db.reading() as session:
                _run_export(session, args, out, progress)
            return 0
        # core.output_file: a file is written beside and renamed at the end (a failed export
        # leaves no half file), a FIFO or device in place; a file's mode is kept, a new one 0600.
        with db.reading() as session, output_file.writing(args.output) as stream:
            written = _run_export(session, args, stream, progress)
    finally:
        if progress is not None:
            progress.close()
    print(f"wrote {written:,} {args.what} to {args.output}", file=sys.stderr)
    return 0


# --- registration ------------------------------------------------------------------------------


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None


def add_commands(sub, common: argparse.ArgumentParser, with_db) -> None:
    """Register reclassify and suppression; with_db(fn) turns fn(args, db) into a handler."""
    p = sub.add_parser(
        "reclassify", parents=[common], help="apply the machine-event rules to stored events"
    )
    p.add_argument("campaign", nargs="?", help="a campaign id (default: every campaign)")
    p.add_argument(
        "--too-fast",
        type=_seconds,
        metavar="SECONDS",
        help=f"window around sent_at (default: ${events.TOO_FAST_ENV}, else "
        f"{events.DEFAULT_TOO_FAST_SECONDS:g}; 0 = off)",
    )
    p.set_defaults(handler=with_db(cmd_reclassify))

    p = sub.add_parser("suppression", parents=[common], help="the suppression list")
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    a = actions.add_parser("list", parents=[common], help="suppressed addresses, oldest first")
    a.add_argument("--search", metavar="TEXT", help="any part of an address")
    a.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    a.add_argument("--after", type=int, metavar="ID", help="start after this suppression id")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=with_db(cmd_suppression_list))
    a = actions.add_parser("add", parents=[common], help="suppress an address by hand")
    a.add_argument("email")
    a.add_argument("--reason", choices=recipients.REASONS, default="manual")
    a.set_defaults(handler=with_db(cmd_suppression_add))
    a = actions.add_parser("lift", parents=[common], help="take an address off the list")
    a.add_argument("email")
    a.set_defaults(handler=with_db(cmd_suppression_lift))
