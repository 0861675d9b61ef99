"""Backup and restore of the app's database with PostgreSQL's own tools, and its psql.

The embedded wheel brings pg_dump, pg_restore and psql (18), so this works with no
PostgreSQL installed; for another server a pg_dump at least as new as the server is chosen
(the wheel's, or one on PATH or under /usr/lib/postgresql). The password goes to the tools
in PGPASSWORD, never on their command line.

A backup is pg_dump's custom format: a consistent snapshot of every table. Its restore
loads the data before it creates the triggers (pg_restore's post-data section), so no
counter or rollup trigger fires during the load: the counters and the rollup come back as
they were, equal to a recount. A plain SQL dump is loaded by psql in one transaction, only
when it holds every table its foreign keys reference (the specification's three-table
`pg_dump -t campaigns -t campaign_recipients -t email_tracking` lacks leads and users).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from core.errors import Conflict, DatabaseFailed, DatabaseUnavailable, InvalidInput
from core.store.db import libpq_url

CUSTOM_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class Tool:
    path: Path
    major: int


def _bundled_bin() -> Path | None:
    try:
        from core.store.server import POSTGRES_BIN_PATH
    except ImportError:
        return None
    return POSTGRES_BIN_PATH


def _major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    found = re.search(r"\) (\d+)", out.stdout)
    return int(found[1]) if found else None


def find_tool(name: str, server_major: int) -> Tool:
    """The `name` (pg_dump, pg_restore, psql) whose major is the server's, else the nearest
    newer one: a newer pg_restore sends settings an older server lacks (pg_restore 18 sets
    transaction_timeout, which PostgreSQL 15 refuses)."""
    candidates: list[Path] = []
    bundled = _bundled_bin()
    if bundled is not None:
        candidates.append(bundled / name)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    tools = [Tool(p, m) for p in candidates if p.exists() and (m := _major(p)) is not None]
    fit = [t for t in tools if t.major >= server_major]
    if not fit:
        have = ", ".join(f"{t.path} ({t.major})" for t in tools) or "none found"
        raise DatabaseUnavailable(
            f"The server is PostgreSQL {server_major}; {name} must be that version or newer, "
            f"and there is none here ({have}). Install PostgreSQL {server_major}'s client tools."
        )
    return min(fit, key=lambda t: t.major)


def _split(url: str) -> tuple[str, dict[str, str]]:
    """(conninfo without the password, the environment that carries it)."""
    params = conninfo_to_dict(libpq_url(url))
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def server_major(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return int(_value(conn, sql.SQL("SHOW server_version_num"))) // 10000


def _value(conn: psycopg.Connection[tuple[Any, ...]], query: sql.SQL | sql.Composed) -> Any:
    """The one value a query returns (SHOW, count(*))."""
    row = conn.execute(query).fetchone()
    if row is None:
        raise DatabaseFailed(f"{query.as_string(conn)} returned no row.")
    return row[0]


def _run(tool: Tool, args: list[str], url: str) -> None:
    conninfo, env = _split(url)
    done = subprocess.run(
        [str(tool.path), *args, "--dbname", conninfo], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise DatabaseFailed(f"{tool.path.name} failed: {done.stderr.strip()[-2000:]}")


def write_backup(url: str, output: Path) -> Path:
    """Dump the whole database to output (custom format); returns the file written."""
    tool = find_tool("pg_dump", server_major(url))
    output = output.expanduser()
    _run(tool, ["--format=custom", "--file", str(output)], url)
    return output


def contents(url: str) -> dict[str, int]:
    """Every table of the database (schema-qualified unless public) and its row count."""
    with psycopg.connect(libpq_url(url)) as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
        ).fetchall()
        counts = {}
        for schema, table in tables:
            query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            name = table if schema == "public" else f"{schema}.{table}"
            counts[name] = int(_value(conn, query))
    return counts


def check_plain_dump(text: str) -> None:
    """Refuse a plain dump that lacks tables the foreign keys of its tables need."""
    tables = set(re.findall(r"^CREATE TABLE (?:public\.)?\"?(\w+)\"? \(", text, re.M))
    if not tables:
        raise InvalidInput("The file holds no CREATE TABLE: not a dump of the app's database.")
    needed = re.findall(
        r"^ALTER TABLE (?:ONLY )?(?:public\.)?\"?(\w+)\"?\s+ADD CONSTRAINT \S+ FOREIGN KEY"
        r" \((\w+)\) REFERENCES (?:public\.)?\"?(\w+)\"?",
        text,
        re.M,
    )
    lacking = sorted({f"{t}.{c} -> {ref}" for t, c, ref in needed if ref not in tables})
    if lacking:
        missing = sorted({ref for _, _, ref in needed if ref not in tables})
        raise InvalidInput(
            f"The dump holds {', '.join(sorted(tables))} but not {', '.join(missing)}, which "
            f"their foreign keys need ({'; '.join(lacking)}): it can't be restored on its own. "
            "Back up the whole database with `campaigns db backup` (pg_dump without -t)."
        )


def restore(url: str, dump: Path, *, force: bool = False) -> dict[str, int]:
    """Load dump into the database behind url; returns its tables and row counts after.

    The database must be empty, or force given (then what it held is dropped first: its
    tables are named in the refusal). One transaction: a failed restore leaves it as it was.
    """
    dump = dump.expanduser()
    try:
        head = dump.read_bytes()[:5]
    except OSError as exc:
        raise InvalidInput(f"Can't read {dump}: {exc.strerror}") from exc
    if head != CUSTOM_MAGIC:
        check_plain_dump(dump.read_text(errors="replace"))
    present = contents(url)
    if present and not force:
        held = ", ".join(f"{t} ({n:,} rows)" for t, n in present.items())
        raise Conflict(
            f"The database is not empty; a restore would overwrite {held}. "
            "Restore into an empty database, or give --force to replace these."
        )
    major = server_major(url)
    if head == CUSTOM_MAGIC:
        args = ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
        if present:
            args += ["--clean", "--if-exists"]
        _run(find_tool("pg_restore", major), [*args, str(dump)], url)
    else:
        if present:
            _drop_everything(url)
        args = ["--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1"]
        _run(find_tool("psql", major), [*args, "--file", str(dump)], url)
    return contents(url)


def _drop_everything(url: str) -> None:
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def psql_command(url: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that open psql on the database behind url."""
    tool = find_tool("psql", server_major(url))
    conninfo, env = _split(url)
    return [str(tool.path), "--dbname", conninfo], env
