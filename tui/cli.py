"""The `campaigns` command: opens the app, or runs a scripting subcommand through core."""

# ruff: noqa: E402  (tui.hide_url restarts the command before the other imports)
from __future__ import annotations

from tui import hide_url  # first: the `campaigns` script restarts here without its URL

hide_url.reexec_if_the_command()

import argparse
import sys
from collections.abc import Callable, Sequence

from core import config, store
from core.errors import CampaignConsoleError, ReadOnly
from tui import analytics_commands, db_commands, demo_commands, outer_edge, scripting
from tui.signals import exit_on_signals, run_app

Handler = Callable[[argparse.Namespace], int]
DATABASE_URL_HELP = "PostgreSQL URL (default: $DATABASE_URL, else the embedded server)"


def _connect(args: argparse.Namespace, *, migrate: bool = True) -> store.Database:
    target = config.resolve(args.database_url)
    if target.embedded:
        print(f"Using the {target.describe()}", file=sys.stderr)
    database = store.connect(target, read_only=getattr(args, "read_only", False))
    try:
        if migrate and database.read_only:
            store.check_readable(database.url)
        elif migrate:
            store.ensure_current(database.url)
    except BaseException:
        database.close()
        raise
    return database


# The commands that only read the database: the only ones --read-only lets run (with the app).
# Any other, a command added later included, is refused before the database is opened.
READERS: set[Callable] = {
    scripting.cmd_stats,
    analytics_commands.cmd_export,
    analytics_commands.cmd_suppression_list,
}
DB_READERS = ("current", "check", "backup")  # pg_dump only reads


def refuse_in_read_only(args: argparse.Namespace, reads_only: bool) -> None:
    if getattr(args, "read_only", False) and not reads_only:
        what = " ".join(
            filter(None, [getattr(args, "command", None), getattr(args, "action", None)])
        )
        raise ReadOnly(
            f"`campaigns {what}` writes to the database and --read-only was given: refused "
            "before anything was opened. Run it without --read-only."
        )


def with_db(command: Callable[[argparse.Namespace, store.Database], int]) -> Handler:
    """A handler that opens (and migrates) the database, runs command(args, db), closes it;
    with --read-only it refuses a command that isn't one of READERS."""

    def handler(args: argparse.Namespace) -> int:
        refuse_in_read_only(args, command in READERS)
        database = _connect(args)
        try:
            return command(args, database)
        finally:
            database.close()

    return handler


def cmd_app(args: argparse.Namespace) -> int:
    from tui.app import CampaignConsoleApp

    database = _connect(args)
    try:
        label = "embedded PostgreSQL" if config.resolve(args.database_url).embedded else None
        return run_app(CampaignConsoleApp(database, read_only=args.read_only, label=label))
    finally:
        database.close()


def cmd_db(args: argparse.Namespace) -> int:
    refuse_in_read_only(args, args.action in DB_READERS)
    database = _connect(args, migrate=False)
    url = database.url
    try:
        if args.action in db_commands.ACTIONS:
            return db_commands.run(args, url)
        if args.action == "upgrade":
            store.upgrade(url, args.revision or "head")
            print(f"at {store.current(url)}")
        elif args.action == "downgrade":
            store.downgrade(url, args.revision or "-1")
            print(f"at {store.current(url) or 'base (empty)'}")
        elif args.action == "current":
            rev = store.current(url)
            state = "up to date" if rev == store.head() else f"head is {store.head()}"
            print(f"{rev or 'base (empty)'} ({state})")
        elif args.action == "check":
            diffs = store.drift(url)
            if diffs:
                print("models and database differ:", *diffs, sep="\n  ", file=sys.stderr)
                return 1
            print("no drift: models and migrations agree")
    finally:
        database.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campaigns",
        description="Campaign Console: run and inspect email campaigns in PostgreSQL.",
    )
    parser.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    # Subcommands take the flag too; SUPPRESS keeps one given before the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url", metavar="URL", default=argparse.SUPPRESS, help=DATABASE_URL_HELP
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="read-only database sessions; commands that write are refused",
    )
    parser.set_defaults(handler=cmd_app)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    p = sub.add_parser("db", parents=[common], help="migrations, backup, restore, psql")
    p.add_argument(
        "action", choices=["upgrade", "downgrade", "current", "check", *db_commands.ACTIONS]
    )
    p.add_argument(
        "revision",
        nargs="?",
        metavar="REVISION|FILE",
        help="target revision (upgrade: head, downgrade: -1); restore: the dump file",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="backup: the file to write")
    p.add_argument("--force", action="store_true", help="restore: replace what the database holds")
    p.set_defaults(handler=cmd_db)

    scripting.add_commands(sub, common, with_db)
    analytics_commands.add_commands(sub, common, with_db)
    demo_commands.add_commands(sub, common, with_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the `campaigns` command itself: its URL out of `ps` (tui.hide_url)
        hide_url.reexec_without_database_url()
    exit_on_signals()
    try:
        outer_edge.check_arguments(sys.argv[1:] if argv is None else argv)
    except CampaignConsoleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args = build_parser().parse_args(argv)
    dsn = config.resolve(args.database_url).url
    store.read_only_everywhere(args.read_only)
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a full or closed stdout fails here, not at exit
        return code
    except CampaignConsoleError as exc:
        print(f"error: {config.mask_secrets(str(exc), dsn)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a file or stdout that can't be written (not the database's)
        message = config.mask_secrets(outer_edge.os_error_message(exc), dsn)
        print(f"error: {message}", file=sys.stderr)
        return 1
    except Exception as exc:
        # A database failure (a timeout, a full disk, a lost server) is a message, not a
        # traceback; anything else is a bug and is raised as one.
        explained = store.explain(exc, dsn)
        if explained is None:
            raise
        print(f"error: {explained}", file=sys.stderr)
        return 1
    finally:
        store.read_only_everywhere(False)


if __name__ == "__main__":
    sys.exit(main())
