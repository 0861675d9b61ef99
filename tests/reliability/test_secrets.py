"""A password never shows, however it is written: unencoded `/`, `?`, `#`, `@` and `:` in a
URL, `?password=`, a key=value DSN; not in errors, the app's subtitle, the simulator's log
(created 0600), nor in the process's command line (`ps`)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import config
from core.store import Database
from tui.app import CampaignConsoleApp
from tui.cli import background, main

SECRETS = ["Pa/ssW0rd9", "Pa?ssW0rd9", "Pa#ssW0rd9", "Pa@ssW0rd9", "P@/s?s#:w0rd9", "Pa%2Fss9x"]
FORMS = [
    "postgresql://ops:{pw}@127.0.0.1:5433/db",
    "postgresql+psycopg://ops:{pw}@127.0.0.1:5433/db?sslmode=disable",
    "postgres://ops:{pw}@[::1]:5433/db",
    "postgresql://ops:{pw}@/db?host=/tmp",
    "postgresql://127.0.0.1:5433/db?user=ops&password={pw}",
    "host=127.0.0.1 port=5433 user=ops password={pw} dbname=db",
    "host=127.0.0.1 password='{pw} x' dbname=db",
]


def _leaks(text: str, pw: str) -> bool:
    from urllib.parse import quote

    return pw in text or quote(pw, safe="") in text or "W0rd9" in text or "w0rd9" in text


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("pw", SECRETS)
def test_mask_dsn_hides_every_form(form, pw):
    dsn = form.format(pw=pw)
    masked = config.mask_dsn(dsn)
    assert not _leaks(masked, pw), masked
    assert "127.0.0.1" in masked or "::1" in masked or "/tmp" in masked  # the rest is shown
    actual = f"{pw} x" if "'{pw} x'" in form else pw
    error = f"connection to {dsn} failed: password {actual!r} for ops"
    assert not _leaks(config.mask_secrets(error, dsn), pw)


@pytest.mark.parametrize("pw", SECRETS)
def test_an_error_does_not_show_an_unencoded_password(pw, capsys):
    url = f"postgresql://ops:{pw}@127.0.0.1:1/db?connect_timeout=2"
    assert main(["stats", "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert "127.0.0.1" in err and "Traceback" not in err
    assert not _leaks(err, pw), err


def test_the_apps_subtitle_does_not_show_it(module_db_url):
    url = module_db_url.replace("postgres:@", "postgres:Pa/ssW0rd9@", 1)
    database = Database(url)  # trust auth: the password is not checked, the URL is used
    try:
        app = CampaignConsoleApp(database, live=False)
        assert not _leaks(app.label, "Pa/ssW0rd9"), app.label
        assert "postgres:***@" in app.label
    finally:
        database.close()


def test_the_simulator_log_is_0600_and_masks_the_password(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    url = "postgresql://ops:Pa/ssW0rd9@127.0.0.1:1/db?connect_timeout=2"
    pid = background.start_background(url)
    try:
        deadline = time.monotonic() + 20
        while background._running_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        background.stop_background(timeout=5)
    log = background.log_file()
    text = log.read_text()
    assert "error:" in text, text  # it failed to connect, and said why
    assert not _leaks(text, "Pa/ssW0rd9"), text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert pid is not None


def test_the_command_line_does_not_show_the_url(module_db_url, tmp_path):
    url = module_db_url.replace("postgres:@", "postgres:Pa/ssW0rd9@", 1)
    campaigns = Path(sys.executable).with_name("campaigns")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    child = subprocess.Popen(
        [str(campaigns), "--database-url", url, "simulate", "--duration", "6", "--rate", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        cmdline = Path(f"/proc/{child.pid}/cmdline")
        seen = b""
        deadline = time.monotonic() + 30  # a busy machine starts Python slowly
        while time.monotonic() < deadline:  # the moment before the re-exec may show it
            seen = cmdline.read_bytes()
            if b"simulate" in seen and b"W0rd9" not in seen:
                break
            time.sleep(0.01)
        assert b"W0rd9" not in seen, seen
        time.sleep(1.0)  # and it stays away while the command runs
        assert child.poll() is None, child.stderr.read()
        seen = cmdline.read_bytes()
        assert b"simulate" in seen and b"W0rd9" not in seen and b"--database-url" not in seen
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert b"W0rd9" not in err
