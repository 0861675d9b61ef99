"""The `campaigns` command: the argument parser and main(); with no subcommand it opens the app.

Each subcommand lives in the module of what it works on (tui.cli.campaigns, recipients,
events, export, db, demo, serve) and registers itself with add_commands(sub); tui.cli.common holds
what they share. `campaigns` is main() (pyproject's entry point tui.cli:main), and so is
`python -m tui.cli`.
"""

# ruff: noqa: E402  (tui.hide_url restarts the command before the other imports)
from __future__ import annotations

from tui import hide_url  # first: the `campaigns` script restarts here without its URL

hide_url.reexec_if_the_command()

import argparse
import os
import sys
from collections.abc import Sequence

from core import config, store
from core.delivery import SMTP_URL_ENV
from core.errors import CampaignConsoleError
from tui import outer_edge
from tui.cli import (
    bounces,
    campaigns,
    db,
    demo,
    events,
    export,
    recipients,
    send,
    serve,
    templates,
    tracking,
    web,
)
from tui.cli.common import DATABASE_URL_HELP, connect, print_error, run_handler
from tui.signals import exit_on_signals, run_app


def cmd_app(args: argparse.Namespace) -> int:
    from tui.app import CampaignConsoleApp  # Textual and the screens: only for the app

    if getattr(args, "smtp", None):  # one without a password (tui.hide_url moved any other)
        os.environ[SMTP_URL_ENV] = args.smtp
    database = connect(args)
    try:
        label = "embedded PostgreSQL" if config.resolve(args.database_url).embedded else None
        return run_app(CampaignConsoleApp(database, read_only=args.read_only, label=label))
    finally:
        database.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campaigns",
        description="Campaign Console: run and inspect email campaigns in PostgreSQL.",
    )
    parser.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="read-only database sessions; commands that write are refused",
    )
    parser.add_argument(
        "--replica-url",
        metavar="URL",
        help="a hot standby for the screens' reads (default: $DATABASE_REPLICA_URL); "
        "writes and LISTEN stay on the database",
    )
    parser.add_argument(
        "--listen-url",
        metavar="URL",
        help="a direct connection to the primary for live refresh, when the database URL "
        "is a pooler's (default: $DATABASE_LISTEN_URL); without it the app polls there",
    )
    parser.add_argument(
        "--smtp",
        metavar="URL",
        help="the relay for the app's test messages (T), as `campaigns send --smtp` "
        "(default: $CAMPAIGN_CONSOLE_SMTP_URL)",
    )
    parser.set_defaults(handler=cmd_app)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    # The order of `campaigns --help`.
    db.add_commands(sub)
    campaigns.add_stats_command(sub)
    recipients.add_import_command(sub)
    events.add_track_command(sub)
    export.add_commands(sub)
    campaigns.add_commands(sub)
    events.add_reclassify_command(sub)
    recipients.add_suppression_command(sub)
    tracking.add_commands(sub)
    templates.add_commands(sub)
    demo.add_commands(sub)
    serve.add_commands(sub)
    send.add_commands(sub)
    bounces.add_commands(sub)
    web.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the `campaigns` command itself: its URL out of `ps` (tui.hide_url)
        hide_url.reexec_without_urls()
    exit_on_signals()
    try:
        outer_edge.check_arguments(sys.argv[1:] if argv is None else argv)
    except CampaignConsoleError as exc:
        print_error(str(exc))
        return 1
    args = build_parser().parse_args(argv)
    store.read_only_everywhere(args.read_only)
    try:
        return run_handler(args)
    finally:
        store.read_only_everywhere(False)
