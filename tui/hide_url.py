"""Keep a --database-url off the process's command line, where `ps` shows it to every user.

`campaigns --database-url URL ...` starts again at once (os.execve, same pid) with the URL
moved into DATABASE_URL, which only the process's own user (and root) can read in
/proc/PID/environ. The URL is on the command line only for the moment before that. So are
--replica-url (to DATABASE_REPLICA_URL), --listen-url (to DATABASE_LISTEN_URL) and --smtp
(to CAMPAIGN_CONSOLE_SMTP_URL).
"""

from __future__ import annotations

import os
import sys

FLAG = "--database-url"
# Each URL flag: its variable, and the shortest prefix argparse takes for it (no other flag
# of any subcommand starts so: --re is also --read-only's, --li also --limit's).
FLAGS = {
    FLAG: ("DATABASE_URL", "--da"),
    "--replica-url": ("DATABASE_REPLICA_URL", "--rep"),
    "--listen-url": ("DATABASE_LISTEN_URL", "--lis"),
    "--smtp": ("CAMPAIGN_CONSOLE_SMTP_URL", "--sm"),
}


def _flag_of(arg: str) -> str | None:
    name = arg.split("=", 1)[0]
    for flag, (_, shortest) in FLAGS.items():
        if len(name) >= len(shortest) and flag.startswith(name):
            return flag
    return None


def without_url_flags(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """argv without its URL options (of each, the last one wins, as in argparse), and their
    values by variable name."""
    kept: list[str] = []
    urls: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            kept += argv[i:]
            break
        flag = _flag_of(arg)
        if flag is not None:
            variable = FLAGS[flag][0]
            if "=" in arg:
                urls[variable] = arg.split("=", 1)[1]
            elif i + 1 < len(argv):
                urls[variable] = argv[i + 1]
                i += 1
            else:
                kept.append(arg)  # no value: argparse says so
            i += 1
            continue
        kept.append(arg)
        i += 1
    return kept, urls


def reexec_if_the_command() -> None:
    """Run as the `campaigns` script: restart before the heavy imports (SQLAlchemy, Textual
    take seconds on a busy machine, the URL showing all that time)."""
    if os.path.basename(sys.argv[0]) == "campaigns":
        reexec_without_urls()


def reexec_without_urls() -> None:
    """Start again with --database-url moved to DATABASE_URL (and the other URL flags to
    theirs); returns when none of them holds a password."""
    interpreter_args = sys.orig_argv[: len(sys.orig_argv) - len(sys.argv) + 1]
    rest, urls = without_url_flags(sys.argv[1:])
    from core.config import passwords  # light: os, re and urllib only

    if not any(passwords(url) for url in urls.values()):
        return  # nothing secret in them: no second start (about 0.4 s of Python imports)
    env = dict(os.environ, **urls)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [*interpreter_args, *rest], env)
