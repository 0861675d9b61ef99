"""Scratch databases for tests, benchmarks and soaks: created on a server, dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from core import store
from core.store import libpq_url


def admin(admin_url: str, statement: sql.Composable) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


def database_url(url: str, name: str) -> str:
    """`url` with its database replaced by `name`."""
    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_database(admin_url: str, prefix: str, *, template_url: str | None = None):
    """The URL of a new, empty database on admin_url's server (a copy of template_url's
    database when given); dropped afterwards with any connections still open to it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template_url is not None:
        template = make_url(libpq_url(template_url)).database
        create += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
    admin(admin_url, create)
    try:
        yield database_url(admin_url, name)
    finally:
        admin(
            admin_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )


@contextmanager
def migrated_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A scratch database migrated to head."""
    with scratch_database(admin_url, prefix) as url:
        store.upgrade(url)
        yield url


# Indexes of the bulk-loaded tables that no constraint owns (constraint indexes stay: the load
# relies on them).
_PLAIN_INDEXES = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
    WHERE i.indrelid IN ('leads'::regclass, 'campaign_recipients'::regclass)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


@contextmanager
def plain_indexes_built_after(conn: psycopg.Connection) -> Iterator[None]:
    """Drop the plain indexes of leads and campaign_recipients for a bulk load in `conn`'s
    transaction and build them again after it, with their exact definitions: building an
    index once is many times faster than growing it row by row."""
    indexes = conn.execute(_PLAIN_INDEXES).fetchall()
    for name, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    for _, definition in indexes:
        conn.execute(definition)
