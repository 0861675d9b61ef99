"""Keep a --database-url or --smtp URL off the process's command line, where `ps` shows it
to every user.

`campaigns --database-url URL ...` starts again at once (os.execve, same pid) with the URL
moved into DATABASE_URL (an --smtp URL into CAMPAIGN_CONSOLE_SMTP_URL), which only the
process's own user (and root) can read in /proc/PID/environ. The URL is on the command line
only for the moment before that.
"""

from __future__ import annotations

import os
import sys

FLAG = "--database-url"
# Each flag, the shortest prefix argparse takes for it (no other flag starts so), and the
# environment variable its value moves to.
FLAGS = (
    (FLAG, "--da", "DATABASE_URL"),
    ("--smtp", "--sm", "CAMPAIGN_CONSOLE_SMTP_URL"),
)


def _is_flag(arg: str, flag: str, shortest: str) -> bool:
    name = arg.split("=", 1)[0]
    return len(name) >= len(shortest) and flag.startswith(name)


def without_flag(argv: list[str], flag: str, shortest: str) -> tuple[list[str], str | None]:
    """argv without its `flag` options (the last one wins, as in argparse), and its value."""
    kept: list[str] = []
    url = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            kept += argv[i:]
            break
        if _is_flag(arg, flag, shortest):
            if "=" in arg:
                url = arg.split("=", 1)[1]
            elif i + 1 < len(argv):
                url = argv[i + 1]
                i += 1
            else:
                kept.append(arg)  # no value: argparse says so
            i += 1
            continue
        kept.append(arg)
        i += 1
    return kept, url


def without_database_url(argv: list[str]) -> tuple[list[str], str | None]:
    """argv without its --database-url options (the last one wins, as in argparse), and it."""
    return without_flag(argv, FLAG, "--da")


def reexec_if_the_command() -> None:
    """Run as the `campaigns` script: restart before the heavy imports (SQLAlchemy, Textual
    take seconds on a busy machine, the URL showing all that time)."""
    if os.path.basename(sys.argv[0]) == "campaigns":
        reexec_without_database_url()


def reexec_without_database_url() -> None:
    """Start again with a --database-url (--smtp) that holds a password moved to its
    environment variable; returns when there is none."""
    interpreter_args = sys.orig_argv[: len(sys.orig_argv) - len(sys.argv) + 1]
    from core.config import passwords  # light: os, re and urllib only

    rest = sys.argv[1:]
    moved: dict[str, str] = {}
    for flag, shortest, variable in FLAGS:
        kept, url = without_flag(rest, flag, shortest)
        if url is not None and passwords(url):
            rest, moved[variable] = kept, url
    if not moved:
        return  # nothing secret: no second start (about 0.4 s of Python imports)
    env = dict(os.environ, **moved)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [*interpreter_args, *rest], env)
