"""The `campaigns` command's outer edge: what the environment can do wrong (arguments that are
not UTF-8, a closed or full standard output, a path that can't be written) becomes a one-line
message on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Sequence

from core.errors import InvalidInput


def check_arguments(argv: Sequence[str]) -> None:
    """Refuse an argument that is not UTF-8 (Python keeps such bytes as lone surrogates,
    which no database, file or terminal write takes)."""
    for number, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            raise InvalidInput(
                f"Argument {number} ({shown!r}) is not UTF-8 text: give it in UTF-8."
            ) from None


def os_error_message(exc: OSError) -> str:
    """An OSError in words; a failed standard output is silenced so exit doesn't retry it."""
    stdout_failed = _drop_stdout_if_broken()
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        return (
            "standard output was closed before everything was written (a pipe to head, say): "
            "the output is incomplete"
        )
    what = exc.strerror or str(exc)
    if exc.filename is not None:
        target = os.fsdecode(exc.filename).encode("utf-8", "surrogateescape")
        return f"{what}: {target.decode('utf-8', 'backslashreplace')}"
    if stdout_failed:
        return f"can't write to standard output: {what}; the output is incomplete"
    return what


def _drop_stdout_if_broken() -> bool:
    """Flush stdout; if that fails, point it at /dev/null (so the interpreter's own flush at
    exit prints nothing) and say so."""
    try:
        sys.stdout.flush()
        return False
    except OSError:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
        return True
