"""The `campaigns` command: opens the app, or runs a scripting subcommand through core."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from core import config, db, schema
from core.errors import CampaignConsoleError
from tui import analytics_commands, db_commands, demo_commands, scripting
from tui.signals import exit_on_signals, run_app

Handler = Callable[[argparse.Namespace], int]
DATABASE_URL_HELP = "PostgreSQL URL (default: $DATABASE_URL, else the embedded server)"


def _connect(args: argparse.Namespace, *, migrate: bool = True) -> db.Database:
    target = config.resolve(args.database_url)
    if target.embedded:
        print(f"Using the {target.describe()}", file=sys.stderr)
    database = db.connect(target, read_only=getattr(args, "read_only", False))
    if migrate and not database.read_only:
        schema.ensure_current(database.url)
    return database


def with_db(command: Callable[[argparse.Namespace, db.Database], int]) -> Handler:
    """A handler that opens (and migrates) the database, runs command(args, db), closes it."""

    def handler(args: argparse.Namespace) -> int:
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
    database = _connect(args, migrate=False)
    url = database.url
    try:
        if args.action in db_commands.ACTIONS:
            return db_commands.run(args, url)
        if args.action == "upgrade":
            schema.upgrade(url, args.revision or "head")
            print(f"at {schema.current(url)}")
        elif args.action == "downgrade":
            schema.downgrade(url, args.revision or "-1")
            print(f"at {schema.current(url) or 'base (empty)'}")
        elif args.action == "current":
            rev = schema.current(url)
            state = "up to date" if rev == schema.head() else f"head is {schema.head()}"
            print(f"{rev or 'base (empty)'} ({state})")
        elif args.action == "check":
            diffs = schema.drift(url)
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
        "--read-only", action="store_true", help="open the app with a read-only database session"
    )
    parser.set_defaults(handler=cmd_app)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

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
    exit_on_signals()
    args = build_parser().parse_args(argv)
    dsn = config.resolve(args.database_url).url
    try:
        return args.handler(args)
    except CampaignConsoleError as exc:
        print(f"error: {config.mask_secrets(str(exc), dsn)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # A database failure (a timeout, a full disk, a lost server) is a message, not a
        # traceback; anything else is a bug and is raised as one.
        explained = db.explain(exc, dsn)
        if explained is None:
            raise
        print(f"error: {explained}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
