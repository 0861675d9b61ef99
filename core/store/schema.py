"""Alembic, wrapped: upgrade, downgrade, current revision, and drift between models and database."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from core.errors import DatabaseUnavailable, ReadOnly
from core.store.db import make_engine

# Alembic is imported where it is used: the app's start asks only "is the database current?",
# which a file listing and one SELECT answer (start-up time is a budget, issue 4).
if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_LOCK_KEY = 0x43434D47  # "CCMG": one migrator at a time per database


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


_REVISION_FILE = re.compile(r"^(\d{4}_\w+)\.py$")


def revisions() -> list[str]:
    """Every revision this build knows, oldest first (numbered files whose name is their id)."""
    return sorted(
        m[1]
        for p in MIGRATIONS_DIR.joinpath("versions").iterdir()
        if (m := _REVISION_FILE.match(p.name))
    )


def head() -> str:
    """The newest revision; one chain (tests/core/test_schema.py checks this agrees with
    Alembic's own answer)."""
    return revisions()[-1]


def check_known(revision: str | None) -> None:
    """Refuse a database at a revision this build has no migration for: a newer build
    migrated it (Alembic would say only "Can't locate revision")."""
    if revision is not None and revision not in revisions():
        raise DatabaseUnavailable(
            f"The database's schema is at revision {revision}, which this program does not "
            f"know (its newest is {head()}): a newer version of Campaign Console migrated it. "
            "Use that version, or one at least as new."
        )


def check_readable(url: str) -> None:
    """For --read-only: the schema must be this build's, since migrating it would write."""
    revision = current(url)
    check_known(revision)
    if revision != head():
        raise ReadOnly(
            f"The database's schema is at {revision or 'base (empty)'}, behind this program's "
            f"{head()}, and --read-only can't migrate it. Run `campaigns db upgrade` once "
            "without --read-only, then try again."
        )


def alembic_head() -> str:
    from alembic.script import ScriptDirectory

    (only,) = ScriptDirectory.from_config(alembic_config()).get_heads()
    return only


def _with_connection(url: str, action: Callable[[Config], None]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            action(cfg)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    check_known(current(url))
    _with_connection(url, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str, revision: str = "-1") -> None:
    from alembic import command

    check_known(current(url))
    _with_connection(url, lambda cfg: command.downgrade(cfg, revision))


def current(url_or_engine: str | Engine) -> str | None:
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            if exists is None:
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def ensure_current(url: str) -> bool:
    """Migrate to head when behind (an empty database included); True when it migrated."""
    revision = current(url)
    if revision == head():
        return False
    check_known(revision)
    upgrade(url)
    return True


def drift(url: str) -> list[str]:
    """Differences between the models and the migrated database; empty when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import core.store.rollup_tables  # noqa: F401  (its tables join the models' metadata)
    from core.store.models import Base

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return [_describe(diff) for diff in compare_metadata(ctx, Base.metadata)]
    finally:
        engine.dispose()


def _describe(diff: tuple[Any, ...] | list[Any]) -> str:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(_describe(d) for d in diff)
    op, *rest = diff
    return f"{op}: " + ", ".join(str(getattr(r, "name", r)) for r in rest)
