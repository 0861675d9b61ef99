"""Scratch databases for benchmarks and soaks: created on a server, migrated, then dropped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from core import schema
from core.db import libpq_url


def admin(admin_url: str, statement: sql.Composable) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def migrated_database(admin_url: str, prefix: str) -> Iterator[str]:
    """The URL of a new database on admin_url's server, migrated to head; dropped afterwards
    with any connections still open to it."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin(admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(libpq_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    try:
        schema.upgrade(url)
        yield url
    finally:
        admin(
            admin_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )
