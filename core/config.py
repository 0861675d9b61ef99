"""Where the database is: --database-url, else DATABASE_URL, else the embedded server."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, unquote_plus

APP_NAME = "campaign-console"
EMBEDDED_DATABASE = "campaigns"


@dataclass(frozen=True)
class DatabaseTarget:
    """The database a command works on; url is None for the embedded server."""

    url: str | None
    source: str  # "flag", "environment" or "embedded"

    @property
    def embedded(self) -> bool:
        return self.url is None

    def describe(self) -> str:
        if self.url is None:
            return f"embedded PostgreSQL in {pgdata_dir()}"
        return mask_dsn(self.url)


def resolve(cli_url: str | None = None, env: Mapping[str, str] | None = None) -> DatabaseTarget:
    env = os.environ if env is None else env
    if cli_url:
        return DatabaseTarget(cli_url, "flag")
    if env.get("DATABASE_URL"):
        return DatabaseTarget(env["DATABASE_URL"], "environment")
    return DatabaseTarget(None, "embedded")


def replica_url(cli_url: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The hot standby for the app's reads: --replica-url, else DATABASE_REPLICA_URL, else none."""
    env = os.environ if env is None else env
    return cli_url or env.get("DATABASE_REPLICA_URL") or None


def listen_url(cli_url: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """A direct connection for LISTEN when the database URL is a pooler's: --listen-url, else
    DATABASE_LISTEN_URL, else none (LISTEN goes to the database URL)."""
    env = os.environ if env is None else env
    return cli_url or env.get("DATABASE_LISTEN_URL") or None


def data_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_NAME


def state_home(env: Mapping[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/campaign-console (~/.local/state when unset): what the app and the
    endpoint keep between runs (the app's sorts, the endpoint's spool)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP_NAME


ROOT_PGDATA = Path("/var/lib") / APP_NAME / "pgdata"


def pgdata_dir(env: Mapping[str, str] | None = None) -> Path:
    """The embedded server's data directory; CAMPAIGN_CONSOLE_PGDATA overrides it.

    Root's default is under /var/lib, not root's 0700 home: the server runs as its own system
    user, which must reach the directory, and we never widen another directory's mode."""
    env = os.environ if env is None else env
    if env.get("CAMPAIGN_CONSOLE_PGDATA"):
        return Path(env["CAMPAIGN_CONSOLE_PGDATA"]).expanduser()
    if os.geteuid() == 0 and not env.get("XDG_DATA_HOME"):
        return ROOT_PGDATA
    return data_home(env) / "pgdata"


# A URL's user information ends at the last `@` that a host part follows (as libpq reads it:
# a password may hold unencoded `/`, `?`, `#` and `@`); the host part is host[:port][/db]
# [?query][#fragment], no `@` in host, port or database.
_SCHEME = re.compile(r"\A\s*[a-z][a-z0-9+.-]*://", re.I)
_HOST_TAIL = re.compile(
    r"(?:\[[^\]@/?#]*\]|[^@/?#:\[\]]*)(?::[^@/?#]*)?(?:/[^@?#]*)?(?:\?.*)?(?:\#.*)?\Z", re.S
)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.I)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<pw>[^&]*)", re.I)
_URL_SPECIAL = "@/?#"


@dataclass(frozen=True)
class UrlParts:
    """A URL cut as libpq cuts it: scheme://user[:password]@rest."""

    scheme: str  # "postgresql://", leading blanks included
    user: str
    password: str | None  # None: no `:` in the user information
    rest: str  # host, port, database, query


def split_url(dsn: str) -> UrlParts | None:
    """The user information of a URL DSN, None when it has none (or is not a URL)."""
    scheme = _SCHEME.match(dsn)
    if scheme is None:
        return None
    after = dsn[scheme.end() :]
    at = len(after)
    while (at := after.rfind("@", 0, at)) >= 0:
        if _HOST_TAIL.match(after, at + 1):
            user, colon, password = after[:at].partition(":")
            return UrlParts(scheme[0], user, password if colon else None, after[at + 1 :])
    return None


def encode_password(dsn: str) -> str:
    """The URL with `@`, `/`, `?` and `#` of its password percent-encoded, so that a parser
    that stops at the first of them (SQLAlchemy's) reads the password libpq would."""
    parts = split_url(dsn)
    if parts is None or parts.password is None:
        return dsn
    password = "".join(f"%{ord(c):02X}" if c in _URL_SPECIAL else c for c in parts.password)
    return f"{parts.scheme}{parts.user}:{password}@{parts.rest}"


def _masked_query(text: str) -> str:
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", text)


def mask_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ***, fit for logs, errors and the screen: the
    password of a URL (encoded or not), `?password=` and a key=value DSN's password=."""
    dsn = _masked_query(dsn) if _SCHEME.match(dsn) else dsn  # its `@` would look like a host's
    parts = split_url(dsn)
    if parts is not None:
        shown = parts.user if parts.password is None else f"{parts.user}:***"
        if parts.password == "":
            shown = f"{parts.user}:"
        return f"{parts.scheme}{shown}@{parts.rest}"
    if _SCHEME.match(dsn):
        return dsn
    return _KV_PASSWORD.sub(lambda m: f"{m['head']}***", dsn)


def passwords(dsn: str) -> set[str]:
    """Every password the DSN holds, as written and decoded."""
    found: set[str] = set()
    parts = split_url(dsn)
    if parts is not None and parts.password:
        found.add(parts.password)
    for m in _QUERY_PASSWORD.finditer(dsn if _SCHEME.match(dsn) else ""):
        found.add(m["pw"])
    if not _SCHEME.match(dsn):
        for m in _KV_PASSWORD.finditer(dsn):
            pw = m["pw"]
            found.add(pw)
            if pw.startswith("'") and pw.endswith("'"):
                found.add(re.sub(r"\\(.)", r"\1", pw[1:-1]))
    found |= {unquote(p) for p in found} | {unquote_plus(p) for p in found}
    return {p for p in found if p}


def mask_secrets(text: str, dsn: str | None) -> str:
    """Text (an error message, say) with the DSN's password masked wherever it appears."""
    if not dsn:
        return text
    text = text.replace(dsn, mask_dsn(dsn))
    for pw in sorted(passwords(dsn), key=len, reverse=True):
        if len(pw) >= 3:
            text = text.replace(pw, "***")
    return text
