"""The tracking subcommands: `tracking urls` (a recipient's open, unsubscribe and click URLs,
for a sender we don't own), `tracking rotate-key` (a new signing key; the old ones verify for
a grace period) and `tracking keys` (key ids and their times).

No secret is ever printed: keys are shown by id, created and expiry times only. While
CAMPAIGN_CONSOLE_TRACKING_KEY is set, that key signs, and rotate-key is refused before the
database is opened.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta

from core import store, tracking
from core.tracking.keys import MAX_GRACE
from tui.cli.common import Subcommands, one_line, subcommand, with_db

_DURATION = re.compile(r"(\d{1,6})([smhdw]?)")
_UNITS = {"": "days", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DEFAULT_GRACE = "30d"


def duration(value: str) -> timedelta:
    """30d, 12h, 90m, 45s, 2w, or a plain number of days; 0 for none."""
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a duration: give a number and a unit, like 30d, 12h, 90m or 2w"
        )
    amount, unit = int(match[1]), _UNITS[match[2]]
    try:
        grace = timedelta(**{unit: amount})
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{value!r} is too long a grace period") from None
    if grace > MAX_GRACE:
        raise argparse.ArgumentTypeError(
            f"{value!r} is too long: the grace period is at most {MAX_GRACE.days} days"
        )
    return grace


def _utc(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def cmd_urls(args: argparse.Namespace, db: store.Database) -> int:
    urls = db.run(
        lambda session: tracking.recipient_urls(session, args.campaign, args.email, args.public_url)
    )
    if args.json:
        clicks = [{"position": p, "target": t, "url": u} for p, t, u in urls.clicks]
        data = {"open": urls.open, "unsubscribe": urls.unsubscribe, "clicks": clicks}
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"open\t{urls.open}")
    print(f"unsubscribe\t{urls.unsubscribe}")
    for position, target, url in urls.clicks:
        print(f"click {position}\t{url}\t{one_line(target)}")
    if not urls.clicks:
        print("(no click URLs: the campaign has no saved links yet)")
    return 0


def cmd_rotate(args: argparse.Namespace, db: store.Database) -> int:
    rotated = db.run(lambda session: tracking.rotate_key(session, args.grace))
    print(f"new signing key {rotated.kid} (created {_utc(rotated.created_at)})")
    if rotated.retired:
        kids = ", ".join(map(str, rotated.retired))
        print(
            f"{'key' if len(rotated.retired) == 1 else 'keys'} {kids} stay valid until "
            f"{_utc(rotated.old_valid_until)}"
        )
    else:
        print("no older key was valid: nothing else changed")
    return 0


def cmd_keys(args: argparse.Namespace, db: store.Database) -> int:
    with db.reading() as session:
        keys = tracking.key_list(session)
    now = datetime.now(UTC)
    print("kid\tcreated\texpires\tstate")
    for key in keys:
        if key.signing:
            state = "signs"
        elif key.expires_at is not None and key.expires_at <= now:
            state = "expired"
        else:
            state = "verifies"
        if key.from_environment:
            state += f" (from ${tracking.ENV_KEY})"
        print(f"{key.kid}\t{_utc(key.created_at)}\t{_utc(key.expires_at)}\t{state}")
    if not keys:
        print("(no key yet: the first is made when a URL is first signed)")
    return 0


def _rotate_handler(args: argparse.Namespace) -> int:
    tracking.refuse_with_env_key()  # before the database is opened
    return with_db(cmd_rotate)(args)


def add_commands(sub: Subcommands) -> None:
    p = subcommand(sub, "tracking", help="tracking URLs and their signing keys")
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    a = subcommand(actions, "urls", help="a recipient's open, unsubscribe and click URLs")
    a.add_argument("campaign", help="the campaign's id (campaign_id)")
    a.add_argument("email", help="the recipient's email address")
    a.add_argument(
        "--public-url",
        metavar="URL",
        help="the base the URLs carry (default: the one `campaigns serve --public-url` saved, "
        f"else {tracking.DEFAULT_PUBLIC_URL})",
    )
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=with_db(cmd_urls))
    a = subcommand(actions, "rotate-key", help="sign with a new key; old ones verify a while")
    a.add_argument(
        "--grace",
        type=duration,
        default=duration(DEFAULT_GRACE),
        metavar="DURATION",
        help=f"how long the old keys stay valid, like 30d, 12h, 0 (default {DEFAULT_GRACE})",
    )
    a.set_defaults(handler=_rotate_handler)
    a = subcommand(actions, "keys", help="the signing keys: id, created, expires (no secrets)")
    a.set_defaults(handler=with_db(cmd_keys, reads_only=True))
