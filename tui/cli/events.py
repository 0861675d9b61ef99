"""The event subcommands: track (record a JSON-lines file of events) and reclassify (apply
the human-or-machine rules to stored events again).

track reads the whole file first and hands core.events.record_events the events with their
line numbers in the file, so core's messages (a refused batch, a skipped event) name the
lines as the file has them, blank lines counted; the CLI prints them as core words them.
An event whose line names no source is recorded with source "import"; one whose dedup_key
is stored already is skipped and counted as a duplicate.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import TextIO

from core import events, store
from core.errors import InvalidInput
from core.events import EventInput
from core.store import EventSource
from tui import format as fmt
from tui.cli.common import Subcommands, subcommand, with_db


def read_events(
    source: Iterable[str], skip_invalid: bool
) -> tuple[list[EventInput], list[int], list[str]]:
    """The events of a JSON-lines stream, each one's line number, and the lines that are not
    events (with skip_invalid; else the first such line raises InvalidInput). Blank lines
    are skipped."""
    batch: list[EventInput] = []
    lines: list[int] = []
    problems: list[str] = []
    for number, raw in enumerate(_utf8_lines(source), 1):
        if not raw.strip():
            continue
        try:
            batch.append(EventInput.from_json(json.loads(raw), number))
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
    return batch, lines, problems


def _utf8_lines(source: Iterable[str]) -> Iterator[str]:
    number = 0
    try:
        for number, raw in enumerate(source, 1):  # noqa: B007  (read after the loop)
            yield raw
    except UnicodeDecodeError:
        raise InvalidInput(
            f"Line {number + 1} (or one soon after) is not UTF-8 text: save the file as UTF-8."
        ) from None


def _open(name: str) -> AbstractContextManager[TextIO]:
    try:
        return nullcontext(sys.stdin) if name == "-" else open(name, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Can't read {name}: {exc.strerror}.") from None
    except ValueError:  # a NUL character in the path
        raise InvalidInput(f"Can't read {name!r}: not a file name.") from None


def cmd_track(args: argparse.Namespace, db: store.Database) -> int:
    with _open(args.file) as source:
        batch, lines, problems = read_events(source, args.skip_invalid)
    batch = [e if e.source is not None else replace(e, source=EventSource.IMPORT) for e in batch]
    # A refused batch raises InvalidEvents, whose message names the file's lines.
    result = db.run(
        lambda session: events.record_events(
            session, batch, lines=lines, skip_invalid=args.skip_invalid
        )
    )
    problems += [f"Line {e.line}: {e.reason}" for e in result.rejected]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(
        f"recorded {fmt.plural(result.recorded, 'event')}"
        + (f", skipped {len(problems):,}" if problems else "")
        + (f", {result.duplicates:,} already recorded" if result.duplicates else "")
    )
    return 0


def cmd_reclassify(args: argparse.Namespace, db: store.Database) -> int:
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


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None


def add_track_command(sub: Subcommands) -> None:
    p = subcommand(sub, "track", help="record events from JSON lines")
    p.add_argument("file", help="a .jsonl file, or - for standard input")
    p.add_argument("--skip-invalid", action="store_true", help="record the valid events only")
    p.set_defaults(handler=with_db(cmd_track))


def add_reclassify_command(sub: Subcommands) -> None:
    p = subcommand(sub, "reclassify", help="apply the machine-event rules to stored events")
    p.add_argument("campaign", nargs="?", help="a campaign id (default: every campaign)")
    p.add_argument(
        "--too-fast",
        type=_seconds,
        metavar="SECONDS",
        help=f"window around sent_at (default: ${events.TOO_FAST_ENV}, else "
        f"{events.DEFAULT_TOO_FAST_SECONDS:g}; 0 = off)",
    )
    p.set_defaults(handler=with_db(cmd_reclassify))
