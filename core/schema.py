"""Alembic, wrapped: upgrade, downgrade, current revision, and drift between models and database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from core.db import make_engine
from core.models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_KEY = 0x43434D47  # "CCMG": one migrator at a time per database


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return heads[0]


def _with_connection(url: str, action) -> None:
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
    _with_connection(url, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str, revision: str = "-1") -> None:
    _with_connection(url, lambda cfg: command.downgrade(cfg, revision))


def current(url_or_engine: str | Engine) -> str | None:
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def ensure_current(url: str) -> bool:
    """Migrate to head when behind (an empty database included); True when it migrated."""
    if current(url) == head():
        return False
    upgrade(url)
    return True


def drift(url: str) -> list[str]:
    """Differences between the models and the migrated database; empty when they agree."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return [_describe(diff) for diff in compare_metadata(ctx, Base.metadata)]
    finally:
        engine.dispose()


def _describe(diff) -> str:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(_describe(d) for d in diff)
    op, *rest = diff
    return f"{op}: " + ", ".join(str(getattr(r, "name", r)) for r in rest)
