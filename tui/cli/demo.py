"""The `demo` and `simulate` subcommands: the only part of the program that uses core.demo.

    campaigns demo [--size small|large] [--reset] [--if-empty] [--no-simulate] [--seed N]
                   [--campaigns N] [--traffic real|direct]
    campaigns simulate [CAMPAIGN_ID] [--rate N] [--duration SECONDS] [--demo-only] [--seed N]
    campaigns simulate --stop
    campaigns sink [--port N] [--seed N]

`demo` starts the demo's background traffic (tui.cli.background) unless told not to: on the
embedded database the real path by default (sink, endpoint and sender), else (a DATABASE_URL,
or --traffic direct) the direct simulator. `sink` is the real path's SMTP sink and recipients
(core.demo.inbox), in the foreground.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from core import config, store
from core.demo import (
    DEFAULT_SEED,
    SIZES,
    Simulator,
    demo_campaign_ids,
    has_campaigns,
    has_demo_campaigns,
    reset_demo,
    seed_campaign_count,
    seed_demo,
)
from tui.cli.background import start_background, start_real_traffic, stop_background
from tui.cli.common import Subcommands, refuse_in_read_only, say, subcommand, with_db


def cmd_demo(args: argparse.Namespace, db: store.Database) -> int:
    started = time.monotonic()
    if args.reset:
        reset_demo(db, progress=say)
    if args.if_empty and has_campaigns(db):
        say("The database already has campaigns: not seeding (--if-empty).")
    else:
        seed_demo(db, size=args.size, seed=args.seed, progress=say)
    if args.campaigns:
        added = seed_campaign_count(db, args.campaigns, seed=args.seed, progress=say)
        if not added:
            say(f"The database already has {args.campaigns:,} campaigns or more.")
    say(f"Demo ready in {time.monotonic() - started:.1f} s.")
    if not args.no_simulate and has_demo_campaigns(db):
        traffic = args.traffic
        if traffic == "real" and not config.resolve(args.database_url).embedded:
            say(
                "The real-path traffic runs on the embedded database only: starting the direct"
                " simulator on this DATABASE_URL."
            )
            traffic = "direct"
        if traffic == "real":
            with db.reading() as session:
                campaigns = demo_campaign_ids(session)
            start_real_traffic(None, sorted(campaigns))
        else:
            start_background(args.database_url)
    return 0


def cmd_sink(args: argparse.Namespace) -> int:
    # It reads no database, but its recipients' fetches write through the endpoint: it is
    # traffic, which --read-only refuses as it refuses `simulate`.
    refuse_in_read_only(args, reads_only=False)
    # aiosmtpd and httpx log each command and request at INFO: only their warnings here.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s sink: %(message)s", stream=sys.stderr
    )
    logging.getLogger("core.demo.inbox").setLevel(logging.INFO)

    from core.demo import inbox  # aiosmtpd and httpx: only in this process

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await inbox.serve("127.0.0.1", args.port, stop, seed=args.seed)

    asyncio.run(main())
    return 0


def cmd_simulate(args: argparse.Namespace, db: store.Database) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s simulator: %(message)s", stream=sys.stderr
    )
    logging.getLogger("core.demo.simulator").setLevel(logging.INFO)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sim = Simulator(db, args.campaign, rate=args.rate, seed=args.seed, demo_only=args.demo_only)
    what = args.campaign or ("the demo's campaigns" if args.demo_only else "every campaign")
    logging.info("simulating %s at about %g writes/s (pid %d)", what, args.rate, os.getpid())
    if args.pid_file:
        Path(args.pid_file).write_text(f"{os.getpid()}\n")
    try:
        sim.run(duration=args.duration, stop_event=stop)
    finally:
        if args.pid_file:
            with contextlib.suppress(OSError, ValueError):
                path = Path(args.pid_file)
                if int(path.read_text().split()[0]) == os.getpid():
                    path.unlink()
        logging.info("stopped")
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def add_commands(sub: Subcommands) -> None:
    p = subcommand(sub, "demo", help="seed realistic demo data, then simulate traffic")
    p.add_argument("--size", choices=SIZES, default="small", help="large adds 1M recipients")
    p.add_argument("--reset", action="store_true", help="delete the demo data first")
    p.add_argument(
        "--if-empty", action="store_true", help="seed only if the database has no campaigns"
    )
    p.add_argument(
        "--no-simulate", action="store_true", help="don't start the background simulator"
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same data)")
    p.add_argument(
        "--campaigns", type=_count, metavar="N", help="add small campaigns up to N in all"
    )
    p.add_argument(
        "--traffic",
        choices=("real", "direct"),
        default="real",
        help="real (default, embedded database only): an SMTP sink, the tracking endpoint and"
        " the sender; direct: the simulator writes the events itself",
    )
    p.set_defaults(handler=with_db(cmd_demo))

    p = subcommand(sub, "sink", help="the demo's SMTP sink and recipients (foreground)")
    p.add_argument("--port", type=_port, default=2525, help="port on 127.0.0.1 (2525; 0: free)")
    p.add_argument("--seed", type=int, help="random seed")
    p.set_defaults(handler=cmd_sink)

    p = subcommand(sub, "simulate", help="send and respond for running campaigns")
    p.add_argument("campaign", nargs="?", help="one campaign id (default: every running one)")
    p.add_argument("--rate", type=_positive, default=50.0, help="writes per second (50)")
    p.add_argument("--duration", type=_positive, metavar="SECONDS", help="stop after this long")
    p.add_argument("--demo-only", action="store_true", help="only the demo's campaigns")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--stop", action="store_true", help="stop the demo's background traffic")
    p.add_argument("--pid-file", help=argparse.SUPPRESS)  # the background simulator's
    simulate = with_db(cmd_simulate)

    def handler(args: argparse.Namespace) -> int:
        return stop_background() if args.stop else simulate(args)

    p.set_defaults(handler=handler)
