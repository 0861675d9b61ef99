"""`campaigns send`: the sender (core.delivery) in the foreground, and `campaigns alarms`,
the thresholds of a campaign's alarms.

send delivers the running campaigns' recipients to the relay in --smtp (or
$CAMPAIGN_CONSOLE_SMTP_URL; a password given in --smtp is moved there as the command starts,
tui.hide_url, so `ps` never shows it), logs to stderr, and stops cleanly on SIGTERM, SIGINT or
SIGHUP: the messages in flight finish and are recorded, the rest are released. Its messages
are the campaigns' templates rendered by core.messages.MessageBuilder, or come from another
message source, `module:function` (core.delivery.MessageSource).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
from datetime import UTC, datetime
from typing import cast

from core import delivery, store
from core.delivery import trial
from core.errors import InvalidInput
from tui.cli.common import Subcommands, say, subcommand, with_db

# What builds each message when --message-source is not given: the campaign's template
# (core.messages), rendered for the recipient with its tracking links, pixel and headers.
DEFAULT_MESSAGE_SOURCE = "core.messages:MessageBuilder"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def log(message: str) -> None:
    say(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {message}")


def message_source(spec: str) -> delivery.MessageSource:
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise InvalidInput(f"A message source is module:function, not {spec!r}.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(
            f"No message source {spec}: {exc}. Give --message-source module:function."
        ) from None
    source = getattr(module, name, None)
    if isinstance(source, type):  # a class: one instance for this sender (its own caches)
        source = source()
    if not callable(source):
        raise InvalidInput(f"No message source {spec}: {module_name} has no function {name}.")
    return cast(delivery.MessageSource, source)


def _run(sender: delivery.Sender) -> delivery.Totals:
    loop = asyncio.new_event_loop()
    try:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, sender.stop)
        return loop.run_until_complete(sender.run())
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        loop.close()


def cmd_send(args: argparse.Namespace, db: store.Database) -> int:
    url = args.smtp or os.environ.get(delivery.SMTP_URL_ENV, "")
    relay = delivery.parse_relay(url)
    source = message_source(args.message_source)
    settings = delivery.SendSettings(
        connections=args.connections,
        batch_size=args.batch,
        per_second=args.rate,
        per_hour=args.per_hour,
        per_domain=args.per_domain,
        max_attempts=args.max_attempts,
        retry_base_s=args.retry_after,
        retry_max_s=max(args.retry_after, 3600.0),
        lease_s=args.lease,
        window=args.window,
        campaigns=tuple(args.campaign),
        until_done=args.until_done,
    ).check()
    totals = _run(delivery.Sender(db, relay, source, settings, log))
    for reason in totals.paused:
        print(f"paused by an alarm: {reason}", file=sys.stderr)
    return 0


def cmd_send_test(args: argparse.Namespace, db: store.Database) -> int:
    relay = delivery.parse_relay(args.smtp or os.environ.get(delivery.SMTP_URL_ENV, ""))
    message = db.run(lambda session: trial.trial_message(session, args.campaign, args.address))
    reply = trial.send_test(relay, message)
    if reply.outcome() != delivery.Outcome.SENT:
        raise InvalidInput(
            f"The relay {relay.display_url} refused the test message: {reply.describe()}"
        )
    print(f"sent a test message of {args.campaign} to {args.address}: {reply.describe()}")
    return 0


def cmd_alarms(args: argparse.Namespace, db: store.Database) -> int:
    changes = {
        name: getattr(args, name) for name in delivery.BOUNDS if getattr(args, name) is not None
    }
    if changes:
        settings = db.run(lambda session: delivery.set_alarms(session, args.campaign, **changes))
    else:
        with db.reading() as session:
            settings = delivery.alarm_settings(session, args.campaign)
    print(
        f"errors: pause when over {settings.error_percent:g} % of the last"
        f" {settings.error_window} attempts failed\n"
        f"bounces: pause at {settings.bounce_percent:g} % of sent\n"
        f"complaints: pause at {settings.complaint_percent:g} % of sent\n"
        f"rates from {settings.min_sends} sent on"
    )
    return 0


def _number(kind: type, low: float, high: float) -> argparse._ActionType:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value:g} is not between {low:g} and {high:g}")
        return cast(float | int, value)

    return parse


def _smtp_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--smtp",
        metavar="URL",
        help="the relay: smtp://user:password@host:port (smtps:// for TLS, ?starttls=require);"
        f" default ${delivery.SMTP_URL_ENV}",
    )


def add_commands(sub: Subcommands) -> None:
    p = subcommand(sub, "send", help="send the running campaigns by SMTP (foreground)")
    _smtp_option(p)
    p.add_argument(
        "--campaign",
        action="append",
        default=[],
        metavar="ID",
        help="send only this campaign (repeatable; default: every running one)",
    )
    whole = _number(int, 1, 10_000)
    p.add_argument("--connections", type=whole, default=4, help="SMTP connections (4)")
    p.add_argument("--batch", type=whole, default=200, help="recipients claimed at a time (200)")
    p.add_argument("--rate", type=_number(float, 0.01, 100_000), help="messages per second at most")
    p.add_argument("--per-hour", type=_number(int, 1, 10_000_000), help="messages per hour at most")
    p.add_argument(
        "--per-domain",
        type=whole,
        default=4,
        help="messages in flight to one recipient domain at most (4)",
    )
    p.add_argument(
        "--max-attempts",
        type=_number(int, 1, 100),
        default=5,
        help="tries of a temporary (4xx) failure before it fails (5)",
    )
    p.add_argument(
        "--retry-after",
        type=_number(float, 0.01, 86_400),
        default=60.0,
        metavar="SECONDS",
        help="first retry after this, doubling each time up to an hour (60)",
    )
    p.add_argument(
        "--lease",
        type=_number(float, 1, 86_400),
        default=300.0,
        metavar="SECONDS",
        help="a killed sender's claimed recipients are sent by another after this (300)",
    )
    p.add_argument(
        "--window",
        type=whole,
        default=500,
        help="messages sent and not yet recorded at most: what a crash can send twice (500)",
    )
    p.add_argument(
        "--until-done",
        action="store_true",
        help="stop when the campaigns have nothing left to send (default: wait for more)",
    )
    p.add_argument(
        "--message-source",
        default=DEFAULT_MESSAGE_SOURCE,
        metavar="MODULE:FUNCTION",
        help=f"what builds each message (default: {DEFAULT_MESSAGE_SOURCE})",
    )
    p.set_defaults(handler=with_db(cmd_send))

    t = subcommand(sub, "send-test", help="send a campaign's message once, to a test address")
    t.add_argument("campaign", help="the campaign's id (campaign_id)")
    t.add_argument("address", help="where the test goes; it records nothing on any recipient")
    _smtp_option(t)
    t.set_defaults(handler=with_db(cmd_send_test))
    a = subcommand(sub, "alarms", help="show or set the alarms that pause a campaign")
    a.add_argument("campaign", help="campaign_id or row id")
    percent = _number(float, 0, 100)
    a.add_argument("--error-percent", type=percent, help="over this %% of the window failed")
    a.add_argument("--error-window", type=_number(int, 1, 100_000), help="the last N attempts")
    a.add_argument("--bounce-percent", type=percent, help="bounced at or over this %% of sent")
    a.add_argument("--complaint-percent", type=percent, help="complaints at or over this %%")
    a.add_argument(
        "--min-sends", type=_number(int, 1, 100_000_000), help="rates count from N sent on"
    )
    a.set_defaults(handler=with_db(cmd_alarms))
