"""PgBouncer from Debian's package, in transaction mode, in front of a test server.

`with pgbouncer(host, port) as bouncer:` runs one on a free loopback port (installed with
apt-get when missing, as root; else the test is skipped) and stops it on the way out, also on
failure. As root it runs as the embedded server's system user (PgBouncer refuses root), which
can also reach that server's private socket directory.

`python -m tests.pgbouncer HOST PORT LISTEN_PORT` runs one in the foreground, for .ci/run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

PGBOUNCER = Path("/usr/sbin/pgbouncer")
START_TIMEOUT = 30.0


def installed() -> str | None:
    """The pgbouncer program, installed with apt-get when missing (as root); None if not."""
    if not PGBOUNCER.exists() and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-q", "pgbouncer"]
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:  # a fresh machine's package lists may be missing or old
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True, text=True)
    return str(PGBOUNCER) if PGBOUNCER.exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(directory: Path, host: str, port: int, listen_port: int) -> Path:
    (directory / "users.txt").write_text('"postgres" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/users.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
server_reset_query =
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""
    )
    return ini


def _user() -> str | None:
    if os.geteuid() != 0:
        return None
    from core.store.server import ensure_system_user

    return ensure_system_user().pw_name


def command(ini: Path) -> list[str]:
    program = installed()
    assert program is not None
    user = _user()
    if user is not None:
        shutil.chown(ini.parent, user)
    # -q: its log goes to the logfile only, not to stderr as well.
    return [program, "-q", *(["-u", user] if user else []), str(ini)]


@dataclass
class PgBouncer:
    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    def url_of(self, url: str) -> str:
        """The same database and user as `url`, through this PgBouncer."""
        info = psycopg.conninfo.conninfo_to_dict(url)
        return f"postgresql://{info.get('user', 'postgres')}@127.0.0.1:{self.port}/{info['dbname']}"

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@contextlib.contextmanager
def pgbouncer(host: str, port: int) -> Iterator[PgBouncer]:
    import pytest

    if installed() is None:
        pytest.skip("no pgbouncer, and not root to `apt-get install pgbouncer`")
    directory = Path(tempfile.mkdtemp(prefix="cc-pgbouncer-"))
    directory.chmod(0o755)
    listen_port = free_port()
    ini = write_config(directory, host, port, listen_port)
    process = subprocess.Popen(command(ini), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bouncer = PgBouncer(process, listen_port, directory)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen_port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, f"pgbouncer ended: {bouncer.log()}"
                assert time.monotonic() < deadline, f"pgbouncer did not start: {bouncer.log()}"
                time.sleep(0.05)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Run PgBouncer in the foreground in front of HOST:PORT, on 127.0.0.1:LISTEN_PORT."""
    host, port, listen_port = argv[0], int(argv[1]), int(argv[2])
    if installed() is None:
        print("pgbouncer is not installed and could not be", file=sys.stderr)
        return 1
    directory = Path(tempfile.mkdtemp(prefix="cc-pgbouncer-"))
    directory.chmod(0o755)
    ini = write_config(directory, host, port, listen_port)
    os.execv(command(ini)[0], command(ini))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
