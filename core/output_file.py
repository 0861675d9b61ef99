"""Where an export's rows go when it names a file: opened so that the target stays what it was.

- A regular file (or a new one) is written beside it, as NAME.<random>.partial, and takes the
  name only when complete: a failed export leaves the old file (or none) behind. An existing
  file keeps its mode (and, where we may, its owner); a new one is created 0600, since exports
  hold addresses.
- Anything else that exists (a FIFO, a terminal, /dev/null, a character device) is written
  in place, opened for writing and never renamed over: `-o /dev/stdout` or a pipe work, and
  no device node is ever replaced by a regular file.
- A symlink is followed, as the shell's `>` does: the file it points to gets the rows (by the
  rules above) and the link stays a link.
- A directory is refused, and every other problem (no such directory, a path under a file,
  permission denied, a full disk) is an InvalidInput of one line naming the path.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from core.errors import InvalidInput

NEW_FILE_MODE = 0o600


def target_path(path: str | os.PathLike) -> str:
    """The path as the user meant it: `~` expanded, symlinks followed, made absolute."""
    text = os.fspath(path)
    if "\x00" in text:
        raise InvalidInput(f"Can't write {text!r}: not a file name.")
    return os.path.realpath(os.path.expanduser(text))


def _problem(shown: str, exc: OSError) -> InvalidInput:
    reason = exc.strerror or str(exc)
    if isinstance(exc, NotADirectoryError):
        reason += " (a part of the path is a file)"
    return InvalidInput(f"Can't write {shown}: {reason}.")


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[IO[str]]:
    """A text stream for the export's rows; see the module notes for what each target gets.
    An exception inside the block leaves a regular target untouched."""
    shown = os.fspath(path)
    real = target_path(path)
    try:
        try:
            st = os.stat(real)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise InvalidInput(f"Can't write {shown}: it is a directory; name a file in it.")
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(real, "w", encoding="utf-8", newline="") as stream:
                yield stream
            return
        with _replacing(real, st) as stream:
            yield stream
    except OSError as exc:
        raise _problem(shown, exc) from None


@contextmanager
def _replacing(real: str, st: os.stat_result | None) -> Iterator[IO[str]]:
    directory, name = os.path.split(real)
    fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
    try:
        if st is not None:
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, st.st_uid, st.st_gid)
        else:
            os.fchmod(fd, NEW_FILE_MODE)
        with open(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, real)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
