"""`campaigns db upgrade|downgrade|current|check|backup|restore|psql`: the schema's migrations
(core.store.schema) and the database's backup, restore and psql (core.store.backup)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from core import store
from core.errors import InvalidInput
from tui.cli.common import Subcommands, connect, refuse_in_read_only, subcommand

MIGRATIONS = ("upgrade", "downgrade", "current", "check")
FILES = ("backup", "restore", "psql")
READERS = ("current", "check", "backup")  # the ones --read-only lets run; pg_dump only reads


def cmd_db(args: argparse.Namespace) -> int:
    refuse_in_read_only(args, args.action in READERS)
    database = connect(args, migrate=False)  # these are the commands that migrate
    try:
        if args.action in FILES:
            return _files(args, database.url)
        return _migrations(args, database.url)
    finally:
        database.close()


def _migrations(args: argparse.Namespace, url: str) -> int:
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
    return 0


def _files(args: argparse.Namespace, url: str) -> int:
    if args.action == "backup":
        name = args.output or datetime.now().strftime("campaigns-%Y%m%d-%H%M%S.dump")
        path = store.write_backup(url, Path(name))
        print(f"wrote {path} ({path.stat().st_size:,} bytes, custom format)")
        return 0
    if args.action == "restore":
        if not args.revision:
            raise InvalidInput("Name the file to restore: campaigns db restore FILE")
        tables = store.restore(url, Path(args.revision), force=args.force)
        rows = ", ".join(f"{t} {n:,}" for t, n in tables.items()) or "the dump held none"
        print(f"restored {len(tables)} tables: {rows}")
        return 0
    command, env = store.psql_command(url)
    sys.stdout.flush()
    return subprocess.call(command, env=env)


def add_commands(sub: Subcommands) -> None:
    p = subcommand(sub, "db", help="migrations, backup, restore, psql")
    p.add_argument("action", choices=[*MIGRATIONS, *FILES])
    p.add_argument(
        "revision",
        nargs="?",
        metavar="REVISION|FILE",
        help="target revision (upgrade: head, downgrade: -1); restore: the dump file",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="backup: the file to write")
    p.add_argument("--force", action="store_true", help="restore: replace what the database holds")
    p.set_defaults(handler=cmd_db)
