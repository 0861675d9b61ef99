"""`campaigns export`: a campaign's recipients, events or links, or the stats of several
campaigns (or --all), as CSV, JSON or JSON lines, to stdout or a file, with a progress line
on stderr when a person watches it. The rows come from core.figures in one read transaction.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from typing import IO, cast

from core import figures, output_file, store
from core.errors import InvalidInput
from tui import format as fmt
from tui.cli.common import Subcommands, subcommand, with_db

PER_CAMPAIGN = ("recipients", "events", "links")


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

    def __init__(self, what: str, stream: IO[str]) -> None:
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

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(fmt.terminal_text(text))


def _stdout() -> IO[str]:
    if not sys.stdout.isatty():
        return sys.stdout
    # figures.export writes its rows with write() alone, which is all _TerminalStream has.
    return cast("IO[str]", _TerminalStream(sys.stdout))


def cmd_export(args: argparse.Namespace, db: store.Database) -> int:
    _check_export_args(args)
    # A progress line only where a person watches it, and not over the exported rows.
    show = sys.stderr.isatty() and (bool(args.output) or not sys.stdout.isatty())
    progress = _ProgressLine(args.what, sys.stderr) if show else None
    try:
        with contextlib.ExitStack() as stack:
            session = stack.enter_context(db.reading())
            # core.output_file: a file is written beside and renamed at the end (a failed
            # export leaves no half file), a FIFO or device in place; a file's mode is kept, a
            # new one 0600.
            if args.output:
                out = stack.enter_context(output_file.writing(args.output))
            else:
                out = _stdout()
            if args.what == "stats":
                chosen = None if args.all else args.campaigns
                written = figures.export_stats(
                    session, chosen, args.format, out, on_progress=progress
                )
            else:
                written = figures.export(
                    session, args.campaigns[0], args.what, args.format, out, on_progress=progress
                )
    finally:
        if progress is not None:
            progress.close()
    if args.output:
        print(f"wrote {written:,} {args.what} to {args.output}", file=sys.stderr)
    return 0


def add_commands(sub: Subcommands) -> None:
    p = subcommand(sub, "export", help="recipients, events, links or stats as CSV or JSON")
    add_export_arguments(p)
    p.set_defaults(handler=with_db(cmd_export, reads_only=True))
