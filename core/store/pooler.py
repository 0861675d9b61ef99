"""Connections through a pooler that refuses the `options` startup parameter.

The engine asks the server for UTC (and, read-only, for read-only transactions) in `options`.
PgBouncer 1.18 (Debian 12's) refuses any startup parameter it does not know, `options`
included ("unsupported startup parameter: options"). On that refusal the engine connects
again without it, for good: the time zone goes as the TimeZone startup parameter (libpq
sends $PGTZ as one, and PgBouncer keeps it per client), and read-only as psycopg's
read_only, which begins every transaction READ ONLY: both hold whichever server connection
the pooler hands the next transaction. The URL's own `options` can't go through it either.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import ConnectionPoolEntry

REFUSED = "unsupported startup parameter: options"


def is_pooled(record: ConnectionPoolEntry) -> bool:
    return bool(record.info.get("pooled"))


def connect_through_poolers(engine: Engine, *, read_only: bool) -> None:
    pooled = False

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
