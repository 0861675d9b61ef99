"""The spool: hits answered while the database was away, in JSON lines, fsynced before the
answer, replayed in order once it is back.

Each worker process has a file of its own in the spool directory, held with flock for as long
as the process lives. A file nobody holds belongs to a process that died (SIGKILL, a crash):
a worker adopts it (at start and from time to time after) and replays it before its own
file, then deletes it. Each hit carries a dedup_key, so a file replayed twice (a worker killed
mid-replay) stores every hit once. A line cut short by a crash was never answered (the answer
waits for the fsync): it is skipped.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.endpoint.hits import Hit
from core.endpoint.metrics import Metrics
from core.errors import InvalidInput

log = logging.getLogger("core.endpoint.spool")

SUFFIX = ".jsonl"
_READ = 1 << 20  # bytes read from a spool file at a time


@dataclass
class _File:
    path: Path
    fd: int
    offset: int = 0  # bytes replayed (or skipped) so far

    def size(self) -> int:
        return os.fstat(self.fd).st_size


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _complete_lines(fd: int, offset: int, limit: int) -> tuple[list[bytes], int]:
    """Up to `limit` whole lines from offset, and the offset after them."""
    lines: list[bytes] = []
    while len(lines) < limit:
        data = os.pread(fd, _READ, offset)
        end = data.rfind(b"\n")
        if end < 0:
            break
        for line in data[: end + 1].splitlines(keepends=True):
            lines.append(line)
            offset += len(line)
            if len(lines) == limit:
                break
    return lines, offset


def _hits(lines: Sequence[bytes], path: Path) -> list[Hit]:
    hits: list[Hit] = []
    for line in lines:
        try:
            hits.append(Hit.from_line(line))
        except (ValueError, KeyError, TypeError):
            log.error("skipping a spool line of %s that is not a hit: %r", path.name, line[:200])
    return hits


def prepare_directory(directory: Path) -> None:
    """Make the spool directory (0700) if needed and check a file can be made there; an
    InvalidInput that says why not, before the endpoint starts."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = directory / f".probe-{os.getpid()}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        probe.unlink()
    except OSError as exc:
        raise InvalidInput(
            f"Can't keep a spool in {directory}: {exc.strerror or exc}. Give --spool-dir a "
            "directory this user can write."
        ) from None


class Spool:
    def __init__(self, directory: Path, metrics: Metrics) -> None:
        self.directory = directory
        self.metrics = metrics
        self._lock = threading.Lock()
        self._own: _File | None = None
        self._adopted: list[_File] = []
        self.active = False  # hits go to the spool, not the database, until it is replayed

    # --- opening and adopting -----------------------------------------------------------------

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"spool-{time.time_ns():020d}-{os.getpid()}"
        tmp = self.directory / f".{name}.new"
        fd = os.open(tmp, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # before the name shows: nobody adopts it meanwhile
        path = self.directory / f"{name}{SUFFIX}"
        os.rename(tmp, path)
        self._sync_directory()
        self._own = _File(path, fd)
        self.adopt()

    def adopt(self) -> int:
        """Take over the unheld spool files of dead processes; returns how many hits they hold."""
        held = {f.path for f in self._adopted} | ({self._own.path} if self._own else set())
        found = 0
        for path in sorted(self.directory.glob(f"spool-*{SUFFIX}")):
            if path in held:
                continue
            try:
                fd = os.open(path, os.O_RDWR | os.O_APPEND)
            except FileNotFoundError:
                continue  # another worker replayed and removed it just now
            if not _lock(fd) or not self._still_named(fd, path):
                os.close(fd)
                continue
            lines, _ = _complete_lines(fd, 0, 1 << 62)
            found += len(lines)
            with self._lock:
                self._adopted.append(_File(path, fd))
                self.active = True
        if found:
            self.metrics.spooled(found)
            log.warning("adopted %d spooled hits of stopped workers", found)
        return found

    def _still_named(self, fd: int, path: Path) -> bool:
        try:
            return os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def _sync_directory(self) -> None:
        dfd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    # --- appending ----------------------------------------------------------------------------

    def append(self, hits: Sequence[Hit], *, only_if_active: bool = False) -> bool:
        """Write the hits to this worker's file and fsync it; False (nothing written) when
        `only_if_active` and the spool has been replayed. OSError when the disk refuses."""
        own = self._own
        assert own is not None, "open() the spool first"
        data = b"".join(h.line() for h in hits)
        with self._lock:
            if only_if_active and not self.active:
                return False
            before = own.size()
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(own.fd, view) :]
                os.fsync(own.fd)
            except OSError:
                os.ftruncate(own.fd, before)  # no half line for the next one to join
                raise
            self.active = True
        self.metrics.spooled(len(hits))
        return True

    # --- replaying ----------------------------------------------------------------------------

    def pending(self) -> bool:
        with self._lock:
            own = self._own
            return bool(self._adopted) or (own is not None and own.size() > own.offset)

    def replay(self, commit: Callable[[list[Hit]], None], chunk: int = 1000) -> int:
        """Commit every spooled hit, oldest file first, in order, `chunk` a transaction; returns
        how many. Raises what commit raises (the database went away again): what was committed
        stays replayed, the rest waits for the next call."""
        done = 0
        while True:
            with self._lock:
                current = self._adopted[0] if self._adopted else self._own
            if current is None:
                return done
            lines, end = _complete_lines(current.fd, current.offset, chunk)
            if lines:
                hits = _hits(lines, current.path)
                if hits:
                    commit(hits)
                current.offset = end
                done += len(lines)
                self.metrics.replay(len(lines))
                continue
            with self._lock:
                if current is not self._own:
                    # Whatever follows its last newline was never answered.
                    current.path.unlink(missing_ok=True)
                    os.close(current.fd)
                    self._adopted.pop(0)
                    continue
                if current.size() == current.offset:
                    os.ftruncate(current.fd, 0)
                    current.offset = 0
                    self.active = False
                return done

    def close(self) -> None:
        """Give the files up: this worker's is deleted when empty, else left for the next
        worker to adopt, as are adopted files not yet replayed."""
        with self._lock:
            for f in self._adopted:
                os.close(f.fd)
            self._adopted.clear()
            own, self._own = self._own, None
        if own is not None:
            if own.size() <= own.offset:
                own.path.unlink(missing_ok=True)
            os.close(own.fd)
