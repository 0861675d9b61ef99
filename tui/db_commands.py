"""`campaigns db backup|restore|psql`: the CLI side of core.store.backup."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from core import store
from core.errors import InvalidInput

ACTIONS = ("backup", "restore", "psql")


def run(args: argparse.Namespace, url: str) -> int:
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
