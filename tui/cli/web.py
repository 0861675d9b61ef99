"""`campaigns web`: the app in a browser, through textual-serve (tui.cli.web_server).

    campaigns [--database-url URL] [--read-only] web [--host HOST] [--port PORT] [--password]
              [--max-sessions N] [--idle-timeout DURATION]

Each browser tab gets an app process of its own, `python -m tui.cli [--read-only]`, on the
database this command was given: the URL goes to it in DATABASE_URL, never on its command line.

Every request needs a secret, on 127.0.0.1 too: a token printed at start (as Jupyter does), or
with --password the one in $CAMPAIGN_CONSOLE_WEB_PASSWORD. Another user of the same server
reaches its loopback address as well as you do, and the app behind it holds your database
credentials; so loopback is no reason to let a request in unasked.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import shlex
import socket
import sys

from core import config
from core.errors import InvalidInput
from tui.cli.common import Subcommands, connect, say, subcommand
from tui.cli.web_server import WebServer, WebSettings, serve

PASSWORD_ENV = "CAMPAIGN_CONSOLE_WEB_PASSWORD"
MIN_PASSWORD = 8
DEFAULT_PORT = 8050
_DURATION = re.compile(r"\A\s*(\d+(?:\.\d*)?)\s*([smh]?)\s*\Z", re.I)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}


def duration(text: str) -> float | None:
    """Seconds from `90`, `90s`, `30m` or `2h`; 0 is None (never)."""
    found = _DURATION.match(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (say 90s, 30m or 2h)")
    seconds = float(found[1]) * _UNIT[found[2].lower()]
    return seconds or None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of 1 or more: {text!r}")
    return value


def port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port (0 to 65535): {text!r}")
    return int(text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _secret(args: argparse.Namespace) -> str:
    if not args.password:
        return secrets.token_hex(24)
    password = os.environ.get(PASSWORD_ENV, "")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"--password takes the password from ${PASSWORD_ENV}, which is "
            + ("not set" if not password else f"shorter than {MIN_PASSWORD} characters")
            + ": set it (never on the command line), or leave out --password for a token."
        )
    return password


def app_command(read_only: bool) -> str:
    """The shell command of one tab's app: the same interpreter and options, no URL."""
    argv = [sys.executable, "-m", "tui.cli", *(["--read-only"] if read_only else [])]
    return "exec " + shlex.join(argv)  # exec: the pid textual-serve holds is the app's


def app_environment(target: config.DatabaseTarget) -> dict[str, str]:
    """What each app process is given on top of this process's environment."""
    return {} if target.url is None else {"DATABASE_URL": target.url}


def _url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _announce(args: argparse.Namespace, secret: str, addresses: list[tuple[str, int]]) -> None:
    port = addresses[0][1] if addresses else args.port
    url = _url(args.host, port)
    if args.password:
        say(f"Campaign Console in a browser: open {url} and sign in with ${PASSWORD_ENV}.")
    else:
        say(f"Campaign Console in a browser: open {url}?token={secret}")
    if not is_loopback(args.host):
        say(
            f"Listening on {args.host}, in plain HTTP: the token or password crosses the network "
            "unencrypted. Better: --host 127.0.0.1 and an SSH tunnel "
            f"(ssh -L {port}:127.0.0.1:{port} THIS-SERVER), or a TLS proxy in front."
        )
    idle = (
        "never closed" if args.idle_timeout is None else f"closed after {_human(args.idle_timeout)}"
    )
    say(
        f"Up to {args.max_sessions} tab(s) at once, each its own app process; a tab without "
        f"input is {idle}. 0 open. Ctrl+C stops."
    )


def _human(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def cmd_web(args: argparse.Namespace) -> int:
    secret = _secret(args)  # before the database: a refused --password opens nothing
    target = config.resolve(args.database_url)
    connect(args).close()  # reachable, migrated (checked readable with --read-only)
    settings = WebSettings(
        command=app_command(args.read_only),
        secret=secret,
        max_sessions=args.max_sessions,
        idle_timeout=args.idle_timeout,
        env=app_environment(target),
        drop_env=(PASSWORD_ENV,),
    )
    server = WebServer(settings, args.host, args.port)
    try:
        serve(server, lambda addresses: _announce(args, secret, addresses))
    except OSError as exc:
        raise InvalidInput(
            f"Can't listen on {args.host} port {args.port}: {exc.strerror}"
        ) from None
    return 0


def add_commands(sub: Subcommands) -> None:
    web = subcommand(sub, "web", help="serve the app to web browsers (one app per tab)")
    web.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="every tab's app read-only (as `campaigns --read-only`)",
    )
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    web.add_argument(
        "--port", type=port, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0: any free one)"
    )
    web.add_argument(
        "--password",
        action="store_true",
        help=f"ask for the password in ${PASSWORD_ENV} instead of a printed token",
    )
    web.add_argument(
        "--max-sessions",
        type=positive,
        default=5,
        metavar="N",
        help="tabs open at once; the next is refused with a page that says so (5)",
    )
    web.add_argument(
        "--idle-timeout",
        type=duration,
        default=30 * 60.0,
        metavar="DURATION",
        help="close a tab with no input for this long, ending its app (30m; 0: never)",
    )
    web.set_defaults(handler=cmd_web)
