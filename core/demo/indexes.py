"""The large demo's load without the secondary indexes: dropped before the COPY, built after.

Keeping the 23 secondary indexes of campaign_recipients and email_tracking up to date row by
row is most of the server's work while the large demo streams in (measured: 112 s for the
whole load with them, about 50 s without them plus 32 s to build them afterwards, two at a
time). Only secondary indexes are dropped: primary keys and unique constraints, which guard
the data, stay. They are built again from the models' definitions, which `campaigns db
check` holds equal to the migrations', so a rebuilt index is the migrated one.

`restore` builds whichever of them is missing, so it also repairs a database where a killed
load left them dropped (the large demo calls it first thing).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg import sql
from sqlalchemy import Index, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from core.store import Base, CampaignRecipient, EmailTracking

TABLES: tuple[Table, ...] = tuple(
    Base.metadata.tables[model.__tablename__] for model in (CampaignRecipient, EmailTracking)
)
BUILDERS = 2  # connections building indexes at once: the machine's cores
LOCK_WAIT = "5s"  # an app reading these tables can hold the drop up; then load with them


def secondary() -> list[Index]:
    """The indexes the load drops: not the unique ones (uq_email_tracking_dedup_key), which
    guard the data as the unique constraints do."""
    return sorted((ix for table in TABLES for ix in table.indexes if not ix.unique), key=_name)


def _name(ix: Index) -> str:
    """An index's name (the models name every one)."""
    if ix.name is None:
        raise ValueError(f"an index without a name: {ix!r}")
    return ix.name


def _present(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename = ANY(%s)",
        ([t.name for t in TABLES],),
    ).fetchall()
    return {name for (name,) in rows}


def drop(url: str) -> bool:
    """Drop the secondary indexes in one committed transaction; False (nothing dropped) when
    another session keeps the tables busy for longer than LOCK_WAIT."""
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_WAIT)))
        present = _present(conn)
        try:
            for ix in secondary():
                if _name(ix) in present:
                    conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(_name(ix))))
        except psycopg.errors.LockNotAvailable:
            conn.rollback()
            return False
        conn.commit()
    return True


def restore(url: str) -> list[str]:
    """Build the missing secondary indexes, BUILDERS at a time; their names."""
    with psycopg.connect(url) as conn:
        present = _present(conn)
    missing = [ix for ix in secondary() if _name(ix) not in present]
    if not missing:
        return []
    statements = [str(CreateIndex(ix).compile(dialect=postgresql.dialect())) for ix in missing]
    # The biggest first, so the two builders finish at about the same time.
    statements.sort(key=lambda s: "email_tracking" not in s)

    def build(batch: list[str]) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '256MB'")
            for statement in batch:
                with contextlib.suppress(psycopg.errors.DuplicateTable):  # built meanwhile
                    conn.execute(statement)

    batches = [statements[i::BUILDERS] for i in range(BUILDERS)]
    with ThreadPoolExecutor(BUILDERS) as pool:
        list(pool.map(build, batches))
    return [_name(ix) for ix in missing]
