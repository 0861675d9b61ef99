"""Engine and session factory over psycopg 3; the one place that turns a target into connections."""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import URL, CursorResult, Engine, Executable, Row, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

import core.store.embedded as embedded
import core.store.jsonb as jsonb
import core.store.pooler as pooler
from core import config
from core.errors import (
    CampaignConsoleError,
    DatabaseFailed,
    DatabaseUnavailable,
    InvalidInput,
    ReadOnly,
)
from core.store.replica import PRIMARY_LSN_SQL, Replica

T = TypeVar("T")
RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


def sqlalchemy_url(url: str) -> str:
    """A libpq URL (postgresql://...) as SQLAlchemy's psycopg 3 URL; a password with an
    unencoded `@`, `/`, `?` or `#` is encoded, so SQLAlchemy reads the one libpq would."""
    url = config.encode_password(url)
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise DatabaseUnavailable(
        f"Not a PostgreSQL URL: {config.mask_dsn(url)} (expected postgresql://user@host/db)"
    )


def _parsed(url: str) -> URL:
    try:
        return make_url(sqlalchemy_url(url))
    except (ArgumentError, ValueError) as exc:
        raise DatabaseUnavailable(
            config.mask_secrets(f"Not a usable PostgreSQL URL: {config.mask_dsn(url)} ({exc})", url)
        ) from None


def libpq_url(url: str) -> str:
    """The URL psycopg.connect takes (no +psycopg driver suffix)."""
    return _parsed(url).set(drivername="postgresql").render_as_string(hide_password=False)


_read_only_everywhere = False


def read_only_everywhere(on: bool) -> None:
    """Make every engine opened from now on read-only (`campaigns --read-only`): the app's,
    and those of Alembic, the drift check and the revision lookups in core.store.schema."""
    global _read_only_everywhere
    _read_only_everywhere = on


def raw_connect(url: str, **kwargs: Any) -> psycopg.Connection:
    """A psycopg connection as the engine's are: UTC, no server-side prepared statements, and
    through a pooler that refuses `options` (core.store.pooler) connected without them."""
    conninfo = libpq_url(url)
    kwargs.setdefault("prepare_threshold", None)
    try:
        return psycopg.connect(conninfo, options="-c timezone=UTC", **kwargs)
    except psycopg.OperationalError as exc:
        if pooler.REFUSED not in str(exc):
            raise
    os.environ["PGTZ"] = "UTC"  # as core.store.pooler does
    return psycopg.connect(conninfo, **kwargs)


def make_engine(
    url: str, *, read_only: bool = False, settings: Mapping[str, str] | None = None, **kwargs: Any
) -> Engine:
    """`settings`: server settings for every connection (name -> value), sent with the
    connection request: no round trip of their own."""
    read_only = read_only or _read_only_everywhere
    parsed = _parsed(url)
    # connect_args' options replace the URL's: keep the user's (a statement_timeout, say)
    # and put ours last, so they win where both set the same thing.
    given = parsed.query.get("options") or ()
    options = [given] if isinstance(given, str) else list(given)
    options.extend(f"-c {name}={value}" for name, value in (settings or {}).items())
    options.append("-c timezone=UTC")
    if read_only:
        # The server refuses writes itself, so nothing in the app can slip one through.
        options.append("-c default_transaction_read_only=on")
    connect_args: dict[str, Any] = {
        "options": " ".join(options),
        "application_name": "campaign-console",
        # No server-side prepared statements: psycopg prepares a query on its 5th use on a
        # connection, and through a transaction-mode pooler (PgBouncer 1.18 in Debian 12
        # keeps no prepared statements) the next transaction may get a server connection
        # that lacks it, or has one of the same name. README "PgBouncer" has the figures.
        "prepare_threshold": None,
    }
    connect_args.update(kwargs.pop("connect_args", {}))
    kwargs.setdefault("json_deserializer", jsonb.loads)  # JSON nested too deep to parse
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    _ping_after_idle(engine)
    pooler.connect_through_poolers(engine, read_only=read_only, settings=settings)
    if read_only:
        event.listen(engine, "connect", _assert_read_only)
    return engine


PING_AFTER_IDLE = 1.0  # seconds


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle: after a server restart
    the pool hands out a live connection instead of a dead one, while back-to-back
    transactions (an ingest loop) pay no extra round trip as pool_pre_ping would make them."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(
        dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool throws this connection away and checks out another.
            raise DisconnectionError("connection lost while idle") from exc


def _assert_read_only(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    if pooler.is_pooled(record):  # each transaction begins READ ONLY instead (core.store.pooler)
        if not getattr(dbapi_conn, "read_only", False):
            raise DatabaseUnavailable("The connection is not read-only; not going on.")
        return
    cur = dbapi_conn.cursor()
    try:
        cur.execute("SHOW default_transaction_read_only")
        row = cur.fetchone()
    finally:
        cur.close()
    if row is None or row[0] != "on":
        raise DatabaseUnavailable("The server ignored the read-only setting; not going on.")


@dataclass
class Database:
    """A connected database: its URL, engine and sessions. Close it when done."""

    url: str
    read_only: bool = False
    # For the embedded server this process started: start it again if it died.
    revive: Callable[[], bool] | None = None
    # A hot standby for reading() (core.store.replica); writes and LISTEN stay on `url`.
    replica_url: str | None = None
    # Where the change feed LISTENs, when `url` goes through a pooler that can't (PgBouncer).
    listen_url: str | None = None
    # Server settings of every connection (make_engine's `settings`), e.g. a statement_timeout.
    settings: Mapping[str, str] | None = None
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    replica: Replica | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.read_only = self.read_only or _read_only_everywhere
        self.engine = make_engine(self.url, read_only=self.read_only, settings=self.settings)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if self.replica_url:
            # A ping at each checkout: a standby that went away is found before the read,
            # which then goes to the primary, instead of failing half-way.
            engine = make_engine(self.replica_url, read_only=True, pool_pre_ping=True)
            self.replica = Replica(self.replica_url, engine, self.primary_lsn)

    def primary_lsn(self) -> str | None:
        """The primary's WAL position now (what a read after this must see)."""
        with self.engine.connect() as conn:
            value = conn.exec_driver_sql(PRIMARY_LSN_SQL).scalar()
        return None if value is None else str(value)

    def _wrote(self) -> None:
        """After a commit: reads from the replica wait until it has replayed it."""
        if self.replica is not None:
            with contextlib.suppress(DBAPIError):
                self.replica.want(self.primary_lsn())

    @property
    def display_url(self) -> str:
        return config.mask_dsn(self.url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back (and re-raises) on error."""
        with self.sessions.begin() as session:
            yield session
        self._wrote()

    def run(self, work: Callable[[Session], T], *, attempts: int = 5) -> T:
        """work(session) in one transaction, run again (with backoff) if the server aborted it
        for a deadlock or a serialization failure: such a transaction wrote nothing."""
        for attempt in range(1, attempts + 1):
            committing = False
            try:
                with self.sessions.begin() as session:
                    result = work(session)
                    committing = True
                self._wrote()
                return result
            except DBAPIError as exc:
                if committing and _connection_lost(exc.orig):
                    # The server may have made the commit durable before the line dropped.
                    raise DatabaseFailed(
                        config.mask_secrets(
                            f"Lost the connection to the database while committing "
                            f"({_first_line(exc.orig)}): the change may or may not have been "
                            "saved. Check before running it again.",
                            self.url,
                        )
                    ) from exc
                if attempt == attempts or not isinstance(exc.orig, RETRYABLE):
                    raise
                time.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads: on the replica when there is one that is usable and has
        replayed every commit this Database has seen, else on the primary."""
        replica = self.replica
        on_replica = replica.session() if replica is not None else None
        if on_replica is None:
            with self.sessions() as session:
                yield session
            return
        assert replica is not None
        with on_replica:
            try:
                yield on_replica
            except DBAPIError as exc:
                if _connection_lost(exc.orig):
                    replica.lost(exc)
                raise

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except OperationalError as exc:
            raise DatabaseUnavailable(
                config.mask_secrets(f"Cannot reach {self.display_url}: {exc.orig}", self.url)
            ) from exc
        except (ProgrammingError, InterfaceError) as exc:  # libpq refused the URL's options
            raise DatabaseUnavailable(
                config.mask_secrets(
                    f"Can't connect with {self.display_url}: {_first_line(exc.orig)}", self.url
                )
            ) from exc

    def close(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.close()


def connect(
    target: config.DatabaseTarget,
    *,
    read_only: bool = False,
    replica_url: str | None = None,
    listen_url: str | None = None,
) -> Database:
    """Open the target database, starting the embedded server when no URL was given."""
    url = embedded.start() if target.embedded else target.url
    assert url is not None
    db = Database(
        url,
        read_only=read_only,
        revive=embedded.revive if target.embedded else None,
        replica_url=replica_url,
        listen_url=listen_url,
    )
    db.ping()
    return db


# --- database failures, in words -----------------------------------------------------------

_NOTHING = "Nothing of it was written."


def _first_line(exc: BaseException | None) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _connection_lost(exc: BaseException | None) -> bool:
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate or ""
    # No SQLSTATE: the client lost the line. 08: connection exception. 57P0x: shut down.
    return not state or state.startswith("08") or state.startswith("57P")


def explain(
    exc: BaseException, url: str | None = None, *, reading: bool = False
) -> CampaignConsoleError | None:
    """A database failure (SQLAlchemy's DBAPIError or a psycopg error) as a message a person
    can act on, or None when `exc` is something else (a bug, which should surface as such).

    For the app's and the CLI's outer edge: every write there is one transaction, so an error
    before its commit means the database rolled all of it back. A failed read (`reading`)
    wrote nothing to begin with, so its message doesn't say so.
    """
    nothing = "" if reading else f" {_NOTHING}"
    if isinstance(exc, CampaignConsoleError):
        return exc
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, psycopg.Error):
        return None
    first = _first_line(orig)
    error: CampaignConsoleError
    if isinstance(orig, pg_errors.ReadOnlySqlTransaction):
        error = ReadOnly(
            f"The database refused the write: this session is read-only ({first}). "
            "Nothing was changed."
        )
    elif isinstance(orig, pg_errors.QueryCanceled):
        error = DatabaseFailed(
            f"The database cancelled the operation: {first} (a statement_timeout on the "
            f"connection, or an administrator).{nothing}"
        )
    elif (orig.sqlstate or "").startswith("53"):
        error = DatabaseFailed(
            f"The database server ran out of resources: {first}.{nothing} Free disk space "
            "(or memory, or connections) on the server and try again."
        )
    elif _connection_lost(orig):
        error = DatabaseUnavailable(
            f"Lost the connection to the database ({first}).{nothing} Try again once the "
            "server is back."
        )
    elif isinstance(orig, psycopg.OperationalError):
        error = DatabaseFailed(f"The database could not finish the operation: {first}.{nothing}")
    elif isinstance(orig, psycopg.DataError | psycopg.IntegrityError):
        error = InvalidInput(f"The database refused the change: {first}.{nothing}")
    else:
        return None
    return type(error)(config.mask_secrets(str(error), url))


# A result row of any columns: what a select of more columns than its overloads type returns.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


def rows_written(
    session: Session, statement: Executable, params: Mapping[str, Any] | None = None
) -> int:
    """How many rows an INSERT, UPDATE or DELETE run in the session wrote (an INSERT's count
    is only kept when its execution options ask for preserve_rowcount)."""
    result = session.execute(statement, params)
    if not isinstance(result, CursorResult):  # every DML statement's result is one
        raise TypeError(f"{type(statement).__name__} returned no row count")
    return result.rowcount
