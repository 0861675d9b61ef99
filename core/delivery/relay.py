"""The relay the sender delivers to, from `smtp://user:pass@host:port` (`smtps://` for TLS
from the first byte; STARTTLS whenever the relay offers it, or required with
`?starttls=require`; AUTH when the URL has a user). Other query options: `cafile=PATH` (a CA
bundle to check the relay's certificate by), `helo=NAME` (the name we greet with),
`timeout=SECONDS` (per reply, 30 by default).

The password is cut as core.config cuts a database URL's (the last `@` before the host ends
it, so it may hold `@`, `/`, `?` unencoded) and never shown: display_url masks it.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from core import config
from core.errors import InvalidInput

SMTP_URL_ENV = "CAMPAIGN_CONSOLE_SMTP_URL"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_OPTIONS = ("starttls", "cafile", "helo", "timeout")


@dataclass(frozen=True, slots=True)
class Relay:
    host: str
    port: int
    use_tls: bool  # smtps: TLS from the first byte
    starttls: bool | None  # None: when offered; True: required
    username: str | None
    password: str | None = field(repr=False)
    cafile: str | None
    helo: str
    timeout_s: float
    url: str = field(repr=False)  # as given, password and all: never print it

    @property
    def display_url(self) -> str:
        return config.mask_dsn(self.url)

    def mask(self, text: str) -> str:
        """Text with the URL's password masked wherever it appears."""
        return config.mask_secrets(text, self.url)


def _bad(url: str, why: str) -> InvalidInput:
    return InvalidInput(f"The relay URL {config.mask_dsn(url)} {why}.")


def parse_relay(url: str) -> Relay:
    """The relay a URL names; InvalidInput (the password masked) when it can't be used."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("No relay: give --smtp smtp://host:port or set " + SMTP_URL_ENV + ".")
    url = url.strip()
    parts = config.split_url(url)
    user = password = None
    rest = url.split("://", 1)[1] if "://" in url else url
    if parts is not None:
        user, password, rest = unquote(parts.user) or None, parts.password, parts.rest
        password = unquote(password) if password is not None else None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in DEFAULT_PORTS:
        raise _bad(url, "is not smtp://host:port or smtps://host:port")
    try:
        split = urlsplit(f"{scheme}://{rest}")
        host, port = split.hostname, split.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise _bad(url, f"has no usable host and port ({exc})") from None
    if not host:
        raise _bad(url, "names no host")
    if split.path not in ("", "/"):
        raise _bad(url, "has a path; a relay URL is scheme://user:password@host:port")
    options = dict(parse_qsl(split.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise _bad(url, f"has unknown option {', '.join(unknown)} (known: {', '.join(_OPTIONS)})")
    starttls = options.get("starttls", "auto").lower()
    if starttls not in ("auto", "require"):
        raise _bad(url, "says starttls=" + starttls + "; use starttls=require (or leave it out)")
    if scheme == "smtps" and starttls == "require":
        raise _bad(url, "asks for STARTTLS on smtps://, which is TLS already")
    try:
        timeout = float(options.get("timeout", "30"))
    except ValueError:
        raise _bad(url, "has a timeout that is not a number of seconds") from None
    if not 0.1 <= timeout <= 600:
        raise _bad(url, "has a timeout outside 0.1 to 600 seconds")
    cafile = options.get("cafile") or None
    if cafile is not None and not os.path.isfile(cafile):
        raise _bad(url, f"names a CA file that is not there ({cafile})")
    return Relay(
        host=host,
        port=port,
        use_tls=scheme == "smtps",
        starttls=True if starttls == "require" else None,
        username=user,
        password=password,
        cafile=cafile,
        helo=options.get("helo") or socket.gethostname() or "localhost",
        timeout_s=timeout,
        url=url,
    )
