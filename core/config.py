"""Where the database is: --database-url, else DATABASE_URL, else the embedded server."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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


def data_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_NAME


def pgdata_dir(env: Mapping[str, str] | None = None) -> Path:
    """The embedded server's data directory; CAMPAIGN_CONSOLE_PGDATA overrides it."""
    env = os.environ if env is None else env
    if env.get("CAMPAIGN_CONSOLE_PGDATA"):
        return Path(env["CAMPAIGN_CONSOLE_PGDATA"]).expanduser()
    return data_home(env) / "pgdata"


# user:password@ in a URL, and password=... in a key/value DSN.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@?#]*):(?P<pw>[^@/?#]*)@", re.I)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.I)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<pw>[^&#]*)", re.I)


def mask_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ***, fit for logs, errors and the screen."""
    masked = _URL_PASSWORD.sub(lambda m: f"{m['head']}:***@" if m["pw"] else m[0], dsn)
    masked = _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", masked)
    return _KV_PASSWORD.sub(lambda m: f"{m['head']}***", masked)


def mask_secrets(text: str, dsn: str | None) -> str:
    """Text (an error message, say) with the DSN's password masked wherever it appears."""
    if not dsn:
        return text
    text = text.replace(dsn, mask_dsn(dsn))
    for pattern in (_URL_PASSWORD, _QUERY_PASSWORD, _KV_PASSWORD):
        for match in pattern.finditer(dsn):
            pw = match["pw"]
            if len(pw) >= 3:
                text = text.replace(pw, "***")
    return text
