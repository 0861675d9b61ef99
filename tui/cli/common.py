"""What every `campaigns` subcommand shares: the --database-url flag, opening (and migrating)
the database, the --read-only refusal, and failures as one line on stderr.

A command module registers its subcommands with subcommand() and turns a handler
`fn(args, db) -> exit code` into the parser's `handler(args)` with with_db(); main() runs it
through run_handler(), which prints what went wrong (passwords masked) instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeAlias

from core import config, store
from core.errors import CampaignConsoleError, ReadOnly
from tui import outer_edge

Handler: TypeAlias = Callable[[argparse.Namespace], int]
DbCommand: TypeAlias = Callable[[argparse.Namespace, store.Database], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

DATABASE_URL_HELP = "PostgreSQL URL (default: $DATABASE_URL, else the embedded server)"

# Subcommands take the flag too; SUPPRESS keeps one given before the subcommand.
_SHARED = argparse.ArgumentParser(add_help=False)
_SHARED.add_argument(
    "--database-url", metavar="URL", default=argparse.SUPPRESS, help=DATABASE_URL_HELP
)


def subcommand(sub: Subcommands, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand (or an action of one) that takes --database-url after its name too."""
    return sub.add_parser(name, parents=[_SHARED], help=help)


def say(message: str) -> None:
    """A progress or status line for the person watching: stderr, at once."""
    print(message, file=sys.stderr, flush=True)


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def one_line(text: str) -> str:
    """Outside text on one terminal line: control characters shown escaped, never run."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def connect(args: argparse.Namespace, *, migrate: bool = True) -> store.Database:
    """The database the arguments name, migrated to head (with --read-only: checked readable)."""
    target = config.resolve(args.database_url)
    if target.embedded:
        print(f"Using the {target.describe()}", file=sys.stderr)
    database = store.connect(
        target,
        read_only=getattr(args, "read_only", False),
        replica_url=config.replica_url(getattr(args, "replica_url", None)),
        listen_url=config.listen_url(getattr(args, "listen_url", None)),
    )
    try:
        if migrate and database.read_only:
            store.check_readable(database.url)
        elif migrate:
            store.ensure_current(database.url)
    except BaseException:
        database.close()
        raise
    return database


def refuse_in_read_only(args: argparse.Namespace, reads_only: bool) -> None:
    if getattr(args, "read_only", False) and not reads_only:
        what = " ".join(
            filter(None, [getattr(args, "command", None), getattr(args, "action", None)])
        )
        raise ReadOnly(
            f"`campaigns {what}` writes to the database and --read-only was given: refused "
            "before anything was opened. Run it without --read-only."
        )


def with_db(command: DbCommand, *, reads_only: bool = False) -> Handler:
    """A handler that opens (and migrates) the database, runs command(args, db), closes it.

    Only a command registered with reads_only=True runs under --read-only; any other, a command
    added later included, is refused before the database is opened."""

    def handler(args: argparse.Namespace) -> int:
        refuse_in_read_only(args, reads_only)
        database = connect(args)
        try:
            return command(args, database)
        finally:
            database.close()

    return handler


def run_handler(args: argparse.Namespace) -> int:
    """args.handler(args); what goes wrong outside the program (refused input, the database, a
    file or stdout that can't be written) as `error: ...` on stderr and exit 1."""
    dsn = config.resolve(args.database_url).url
    others = [
        config.replica_url(getattr(args, "replica_url", None)),
        config.listen_url(getattr(args, "listen_url", None)),
    ]
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # a full or closed stdout fails here, not at exit
        return code
    except CampaignConsoleError as exc:
        print_error(_masked(str(exc), dsn, others))
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a file or stdout that can't be written (not the database's)
        print_error(_masked(outer_edge.os_error_message(exc), dsn, others))
        return 1
    except Exception as exc:
        # A database failure (a timeout, a full disk, a lost server) is a message, not a
        # traceback; anything else is a bug and is raised as one.
        explained = store.explain(exc, dsn)
        if explained is None:
            raise
        print_error(_masked(str(explained), None, others))
        return 1


def _masked(text: str, dsn: str | None, others: list[str | None]) -> str:
    for url in (dsn, *others):
        text = config.mask_secrets(text, url)
    return text
