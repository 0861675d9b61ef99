"""`campaigns serve`: the tracking endpoint (core.endpoint) on a port.

It opens (and migrates) the database as every command does, saves --public-url for the
commands that print tracking URLs, prints the URL it listens on, and serves until SIGTERM or
SIGINT, which stop it cleanly (hits in flight answered, the writer drained).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core import endpoint, store, tracking
from core.errors import InvalidInput
from tui.cli.common import Subcommands, say, subcommand, with_db


def cmd_serve(args: argparse.Namespace, db: store.Database) -> int:
    endpoint.check_environment()
    spool_dir = Path(args.spool_dir) if args.spool_dir else endpoint.default_spool_dir()
    endpoint.prepare_spool_directory(spool_dir)
    if args.public_url:  # checked (an http(s) base URL) and saved before anything starts
        db.run(lambda session: tracking.set_public_url(session, args.public_url))
    with db.reading() as session:
        public = tracking.public_url(session)
    settings = endpoint.EndpointSettings(
        database_url=db.url,
        public_url=public,
        host=args.host,
        port=args.port,
        workers=args.workers,
        trusted_proxies=endpoint.networks(args.trusted_proxy),
        batch_size=args.batch_size,
        writers=args.writers,
        spool_dir=spool_dir,
        writes=args.writes,
        keyring_refresh_s=args.keyring_refresh,
        write_timeout_s=args.write_timeout,
    )
    db.close()  # the workers open their own

    def announce(url: str) -> None:
        print(f"Listening on {url}", flush=True)
        say(f"Tracking URLs start with {public}; spool in {settings.spool_dir}")

    endpoint.run(settings, announce)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0 to 65535)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.05 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{value:g} s is not between 0.05 and 3600")
    return value


def _network(text: str) -> str:
    try:
        endpoint.networks([text])
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_commands(sub: Subcommands) -> None:
    p = subcommand(sub, "serve", help="run the tracking endpoint (opens, clicks, unsubscribes)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument(
        "--port",
        type=_port,
        default=endpoint.DEFAULT_PORT,
        help="port (default: 8040; 0: any free)",
    )
    p.add_argument("--workers", type=_positive, default=1, help="worker processes (default: 1)")
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the base URL the tracking links carry, as the world reaches this server (behind "
        "a reverse proxy: the proxy's); saved for `campaigns tracking urls`",
    )
    p.add_argument(
        "--trusted-proxy",
        metavar="CIDR",
        action="append",
        default=[],
        type=_network,
        help="believe X-Forwarded-For from peers in this network (repeatable)",
    )
    p.add_argument(
        "--spool-dir",
        metavar="DIR",
        help="where hits wait while the database is away "
        f"(default: {endpoint.default_spool_dir()})",
    )
    p.add_argument(
        "--batch-size", type=_positive, default=256, help="hits per transaction at most (256)"
    )
    p.add_argument(
        "--writers",
        type=_positive,
        default=2,
        help="batches in flight per worker: one commits while the next is gathered (default: 2)",
    )
    p.add_argument(
        "--writes",
        choices=endpoint.WRITE_MODES,
        default="batched",
        help="batched (default); per-hit and none are the benchmark's baselines",
    )
    p.add_argument(
        "--keyring-refresh",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how often the tracking keys are read again, after a rotation say (default: 5)",
    )
    p.add_argument(
        "--write-timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="a batch not written by then (the database stuck on a lock, say) is spooled and "
        "answered (default: 5)",
    )
    p.set_defaults(handler=with_db(cmd_serve))
