"""The `demo` and `simulate` subcommands, and the background simulator `demo` starts.

    campaigns demo [--size small|large] [--reset] [--if-empty] [--no-simulate] [--seed N]
                   [--campaigns N]
    campaigns simulate [CAMPAIGN_ID] [--rate N] [--duration SECONDS] [--demo-only] [--seed N]
    campaigns simulate --stop

The background simulator is `simulate --rate 20 --demo-only` (run as
`python -m tui.demo_commands`, which needs nothing else of the CLI), detached from the
terminal, logging to <data dir>/simulator.log, its pid in <data dir>/simulator.pid.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core import config
from core.demo import (
    DEFAULT_SEED,
    SIZES,
    Simulator,
    has_campaigns,
    has_demo_campaigns,
    reset_demo,
    seed_campaign_count,
    seed_demo,
)
from core.errors import CampaignConsoleError

BACKGROUND_RATE = 20


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pid_file() -> Path:
    return config.data_home() / "simulator.pid"


def log_file() -> Path:
    return config.data_home() / "simulator.log"


# --- demo -------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, db) -> int:
    started = time.monotonic()
    if args.reset:
        reset_demo(db, progress=_say)
    if args.if_empty and has_campaigns(db):
        _say("The database already has campaigns: not seeding (--if-empty).")
    else:
        seed_demo(db, size=args.size, seed=args.seed, progress=_say)
    if args.campaigns:
        added = seed_campaign_count(db, args.campaigns, seed=args.seed, progress=_say)
        if not added:
            _say(f"The database already has {args.campaigns:,} campaigns or more.")
    _say(f"Demo ready in {time.monotonic() - started:.1f} s.")
    if not args.no_simulate and has_demo_campaigns(db):
        start_background(getattr(args, "database_url", None))
    return 0


# --- the background simulator -----------------------------------------------------------


def _running_pid() -> int | None:
    """The background simulator's pid, if the pid file names a live simulator."""
    try:
        pid = int(pid_file().read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    proc = Path(f"/proc/{pid}")
    if proc.exists():  # Linux: make sure the pid wasn't reused by another program
        with contextlib.suppress(OSError, IndexError):
            cmdline = (proc / "cmdline").read_bytes()
            if cmdline and b"simulate" not in cmdline:
                return None
            # An empty command line: a child that has just been started (seen for a moment
            # after Popen returns), or a dead one not reaped yet (state Z).
            if not cmdline and (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return None
    return pid


def start_background(database_url: str | None) -> int | None:
    """Start `campaigns simulate` detached unless one runs already; returns its pid."""
    pid = _running_pid()
    if pid is not None:
        _say(f"The simulator is already running (pid {pid}); stop it: campaigns simulate --stop")
        return pid
    pid_path, log_path = pid_file(), log_file()
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tui.demo_commands", "simulate", "--demo-only"]
    command += ["--rate", str(BACKGROUND_RATE), "--pid-file", str(pid_path)]
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url  # not on the command line, where ps shows it
    # 0600, an existing log too: it may quote the database's errors.
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # not stopped by the terminal's Ctrl-C or hang-up
        )
    pid_path.write_text(f"{child.pid}\n")
    _say(
        f"Simulator started in the background (pid {child.pid}, {BACKGROUND_RATE} writes/s on"
        f" the demo's running campaigns); log: {log_path}; stop it: campaigns simulate --stop"
    )
    return child.pid


def stop_background(timeout: float = 10.0) -> int:
    pid = _running_pid()
    if pid is None:
        _say("No background simulator is running.")
        pid_file().unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it if it is our own child
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        _say(f"The simulator (pid {pid}) did not stop within {timeout:.0f} s; killing it.")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pid_file().unlink(missing_ok=True)
    _say(f"Stopped the background simulator (pid {pid}).")
    return 0


# --- simulate ---------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace, db) -> int:
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


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def add_commands(sub, common: argparse.ArgumentParser, with_db) -> None:
    """Register `demo` and `simulate`; with_db(fn) turns fn(args, db) into a handler(args)."""
    p = sub.add_parser(
        "demo", parents=[common], help="seed realistic demo data, then simulate traffic"
    )
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
    p.set_defaults(handler=with_db(cmd_demo))

    p = sub.add_parser("simulate", parents=[common], help="send and respond for running campaigns")
    p.add_argument("campaign", nargs="?", help="one campaign id (default: every running one)")
    p.add_argument("--rate", type=_positive, default=50.0, help="writes per second (50)")
    p.add_argument("--duration", type=_positive, metavar="SECONDS", help="stop after this long")
    p.add_argument("--demo-only", action="store_true", help="only the demo's campaigns")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--stop", action="store_true", help="stop the background simulator")
    p.add_argument("--pid-file", help=argparse.SUPPRESS)
    simulate = with_db(cmd_simulate)
    p.set_defaults(handler=lambda args: stop_background() if args.stop else simulate(args))


def main(argv: list[str] | None = None) -> int:
    """`python -m tui.demo_commands simulate ...`: the background simulator's entry point."""
    from tui.cli import DATABASE_URL_HELP, with_db

    parser = argparse.ArgumentParser(prog="campaigns")
    parser.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url", metavar="URL", default=argparse.SUPPRESS, help=DATABASE_URL_HELP
    )
    add_commands(parser.add_subparsers(required=True), common, with_db)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CampaignConsoleError as exc:
        dsn = config.resolve(args.database_url).url  # the URL may come as DATABASE_URL
        print(f"error: {config.mask_secrets(str(exc), dsn)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
