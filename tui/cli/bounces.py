"""`campaigns bounces ingest`: one bounce from stdin, as an MTA's alias or pipe transport hands
it over (core.delivery.bounces reads and records it).

Exit codes are the ones an MTA acts on (sysexits.h): 0 recorded, a duplicate, or deliberately
ignored (a DSN that reports delivery), with a line on stderr; 65 EX_DATAERR for a message that
is no bounce or names no recipient of ours (nothing written; the MTA gives up on it); 75
EX_TEMPFAIL when the database is away or failed (the MTA keeps the message and tries again).
"""

from __future__ import annotations

import argparse
import sys

from core import store
from core.delivery import bounces
from core.errors import CampaignConsoleError, DatabaseFailed, DatabaseUnavailable, ReadOnly
from tui.cli.common import (
    Subcommands,
    connect,
    one_line,
    print_error,
    refuse_in_read_only,
    say,
    subcommand,
)

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75


def _ingest(args: argparse.Namespace, raw: bytes) -> int:
    message = bounces.parse(raw)
    failure = bounces.read_failure(message, raw)  # before the database: a non-bounce is 65
    database = connect(args)
    try:
        done = database.run(
            lambda session: bounces.ingest(session, message, failure, recipient=args.recipient)
        )
    finally:
        database.close()
    what = f"{failure.kind} bounce {failure.status or failure.code or ''}".rstrip()
    if failure.ignored is not None:
        say(f"ignored: a delivery report (action {one_line(failure.ignored)}), no failure")
    elif done.recorded:
        say(f"recorded: {what} for recipient {done.recipient_id}")
    else:
        say(f"recorded already: {what} for recipient {done.recipient_id} (a duplicate)")
    return EX_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    try:
        refuse_in_read_only(args, reads_only=False)
    except ReadOnly as exc:  # a setup error: the MTA keeps the bounce and tries again
        print_error(str(exc))
        return EX_TEMPFAIL
    raw = sys.stdin.buffer.read(bounces.MAX_BYTES + 1)
    try:
        return _ingest(args, raw)
    except bounces.NotABounce as exc:
        print_error(one_line(str(exc)))
        return EX_DATAERR
    except (DatabaseUnavailable, DatabaseFailed) as exc:
        print_error(f"{exc} The MTA should try again later.")
        return EX_TEMPFAIL
    except CampaignConsoleError as exc:  # refused by the database (a recipient gone): data
        print_error(str(exc))
        return EX_DATAERR
    except Exception as exc:
        explained = store.explain(exc)
        if explained is None:
            raise
        print_error(f"{explained} The MTA should try again later.")
        return EX_TEMPFAIL


def add_commands(sub: Subcommands) -> None:
    p = subcommand(sub, "bounces", help="bounces piped back by the MTA")
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    a = subcommand(actions, "ingest", help="record one bounce (a DSN, or a provider's) from stdin")
    a.add_argument(
        "-r",
        "--recipient",
        metavar="ADDRESS",
        help="the envelope recipient the bounce came to, bounces+TOKEN@domain (Postfix "
        "${recipient}, Exim $local_part+$local_part_suffix@$domain); default: the message's "
        "Delivered-To, X-Original-To or To",
    )
    a.set_defaults(handler=cmd_ingest)
