"""Connections through a pooler that refuses the `options` startup parameter.

The engine asks the server for UTC (and, read-only, for read-only transactions) in `options`.
PgBouncer 1.18 (Debian 12's) refuses any startup parameter it does not know, `options`
included ("unsupported startup parameter: options"). On that refusal the engine connects
again without it, for good: the time zone goes as the TimeZone startup parameter (libpq
sends $PGTZ as one, and PgBouncer keeps it per client), and read-only as psycopg's
read_only, which begins every transaction READ ONLY: both hold whichever server connection
the pooler hands the next transaction. The URL's own `options` can't go through it either;
the engine's own settings (a writer's statement_timeout) are set with SET LOCAL as each
transaction begins instead (a session's SET would stay on the server connection for the
pooler's next client).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import ConnectionPoolEntry

REFUSED = "unsupported startup parameter: options"


def is_pooled(record: ConnectionPoolEntry) -> bool:
    return bool(record.info.get("pooled"))


def connect_through_poolers(
    engine: Engine, *, read_only: bool, settings: Mapping[str, str] | None = None
) -> None:
    pooled = False
    set_local = [
        f"SET LOCAL {name} = '{str(value).replace(chr(39), chr(39) * 2)}'"
        for name, value in (settings or {}).items()
    ]

    if set_local:

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            if pooled:
                for statement in set_local:
                    conn.exec_driver_sql(statement)

    @event.listens_for(engine, "do_connect")
    def _connect(
        dialect: Dialect, record: ConnectionPoolEntry, cargs: Any, cparams: dict[str, Any]
    ) -> Any:
        nonlocal pooled
        if not pooled:
            try:
                return dialect.connect(*cargs, **cparams)
            except psycopg.OperationalError as exc:
                if REFUSED not in str(exc):
                    raise
                pooled = True
        record.info["pooled"] = True
        os.environ["PGTZ"] = "UTC"  # the whole process's libpq: all its connections are UTC
        conn = dialect.connect(*cargs, **{k: v for k, v in cparams.items() if k != "options"})
        if read_only:
            conn.read_only = True
        return conn
