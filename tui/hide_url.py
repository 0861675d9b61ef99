"""Keep a --database-url off the process's command line, where `ps` shows it to every user.

`campaigns --database-url URL ...` starts again at once (os.execve, same pid) with the URL
moved into DATABASE_URL, which only the process's own user (and root) can read in
/proc/PID/environ. The URL is on the command line only for the moment before that.
"""

from __future__ import annotations

import os
import sys

FLAG = "--database-url"
_SHORTEST = "--da"  # argparse takes a unique prefix of the flag; no other flag starts so


def _is_flag(arg: str) -> bool:
    name = arg.split("=", 1)[0]
    return len(name) >= len(_SHORTEST) and FLAG.startswith(name)


def without_database_url(argv: list[str]) -> tuple[list[str], str | None]:
    """argv without its --database-url options (the last one wins, as in argparse), and it."""
    kept: list[str] = []
    url = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            kept += argv[i:]
            break
        if _is_flag(arg):
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


def reexec_if_the_command() -> None:
    """Run as the `campaigns` script: restart before the heavy imports (SQLAlchemy, Textual
    take seconds on a busy machine, the URL showing all that time)."""
    if os.path.basename(sys.argv[0]) == "campaigns":
        reexec_without_database_url()


def reexec_without_database_url() -> None:
    """Start again with --database-url moved to DATABASE_URL; returns when there is none."""
    interpreter_args = sys.orig_argv[: len(sys.orig_argv) - len(sys.argv) + 1]
    rest, url = without_database_url(sys.argv[1:])
    if url is None:
        return
    from core.config import passwords  # light: os, re and urllib only

    if not passwords(url):
        return  # nothing secret in it: no second start (about 0.4 s of Python imports)
    env = dict(os.environ, DATABASE_URL=url)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [*interpreter_args, *rest], env)
