"""What `export -o` does to its target (issue 19.7): it once renamed a regular file over
whatever the path named, so a FIFO, a device node (as root, /dev/full itself) and a symlink
became regular files, and a 0600 file became 0644. Device nodes here are our own, made with
mknod in a scratch directory; the real /dev is never touched."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tests.reliability.conftest import unchanged
from tests.reliability.faults import small_tmpfs
from tests.reliability.hostile import World, make_world
from tests.reliability.test_hostile_cli import run_cli

EXPORT = ("export", "camp_spring", "--what", "recipients", "-o")


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


def export(capsys, world: World, target) -> tuple[int, str, str]:
    with unchanged(world.url):
        return run_cli(capsys, world.url, *EXPORT, str(target))


def _mknod(path: Path, major: int, minor: int) -> None:
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except PermissionError:
        pytest.skip("making a device node needs root")


def test_a_fifo_is_written_into_and_stays_a_fifo(world: World, capsys, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = export(capsys, world, fifo)
    reader.join(timeout=30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and got[0].startswith(b"id,email_address,") and b"ana@example.com" in got[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_null_device_is_written_into_and_stays_a_device(world: World, capsys, tmp_path):
    null = tmp_path / "null"
    _mknod(null, 1, 3)
    code, _, err = export(capsys, world, null)
    assert code == 0, err
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_full_device_is_a_one_line_error_and_stays_a_device(world: World, capsys, tmp_path):
    full = tmp_path / "full"
    _mknod(full, 1, 7)  # what /dev/full is: every write fails with ENOSPC
    code, out, err = export(capsys, world, full)
    assert (code, out) == (1, "")
    assert err.strip() == f"error: Can't write {full}: No space left on device."
    st = os.lstat(full)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_a_symlink_is_followed_and_stays_a_link(world: World, capsys, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real.name)
    code, _, err = export(capsys, world, link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == "real.csv"
    assert real.read_text().startswith("id,email_address,")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o660])
def test_an_existing_file_keeps_its_mode(world: World, capsys, tmp_path, mode):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(mode)
    code, _, err = export(capsys, world, target)
    assert code == 0, err
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert target.read_text().startswith("id,email_address,")


def test_a_new_file_is_0600_whatever_the_umask(world: World, capsys, tmp_path):
    old = os.umask(0o022)
    try:
        code, _, err = export(capsys, world, tmp_path / "new.csv")
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o600


def test_a_tilde_path_is_expanded(world: World, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    code, _, err = export(capsys, world, "~/home.csv")
    assert code == 0, err
    assert (tmp_path / "home.csv").read_text().startswith("id,email_address,")
    assert not (Path.cwd() / "~").exists()


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "out.csv"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp, "it is a directory; name a file in it"),
        (lambda tmp: tmp / "nope" / "out.csv", "No such file or directory"),
        (_under_a_file, "Not a directory (a part of the path is a file)"),
    ],
    ids=["a-directory", "a-missing-directory", "under-a-file"],
)
def test_an_unwritable_path_is_a_one_line_error(world: World, capsys, tmp_path, make, says):
    target = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = export(capsys, world, target)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and says in err and str(target) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_full_disk_leaves_the_old_file_and_no_partial(world: World, capsys):
    """A file on a full file system: one line, the old file as it was, no .partial left."""
    with small_tmpfs("size=256k", "cc-full-export-") as mount:
        target = mount / "out.csv"
        target.write_text("old\n")
        with open(mount / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"x" * 4096)
            except OSError:
                pass
        code, out, err = export(capsys, world, target)
        assert (code, out) == (1, "")
        assert err.strip() == f"error: Can't write {target}: No space left on device."
        assert target.read_text() == "old\n"
        assert sorted(p.name for p in mount.iterdir()) == ["filler", "out.csv"]
