"""`campaigns web`'s options, refused before anything is opened or listened on."""

from __future__ import annotations

import argparse
import shlex
import sys

import pytest

from core import config
from tui.cli import main
from tui.cli.web import app_command, app_environment, duration, is_loopback


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1.5m", 90), ("0", None)],
)
def test_durations(text, seconds):
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-5", "5x", "1e3", "five"])
def test_not_durations(text):
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


def test_loopback():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.test"]))


def test_the_app_command_holds_no_url_and_the_environment_does():
    url = "postgresql://u:s3cret@db.example.test/x"
    command = app_command(read_only=True)
    assert "s3cret" not in command and "database" not in command
    assert shlex.split(command) == ["exec", sys.executable, "-m", "tui.cli", "--read-only"]
    assert app_environment(config.resolve(url)) == {"DATABASE_URL": url}
    assert app_environment(config.DatabaseTarget(None, "embedded")) == {}


def test_password_must_be_in_the_environment(monkeypatch, capsys):
    monkeypatch.delenv("CAMPAIGN_CONSOLE_WEB_PASSWORD", raising=False)
    unreachable = "postgresql://nobody@127.0.0.1:1/none"  # never opened: refused before
    assert main(["--database-url", unreachable, "web", "--password"]) == 1
    err = capsys.readouterr().err
    assert "$CAMPAIGN_CONSOLE_WEB_PASSWORD, which is not set" in err
    monkeypatch.setenv("CAMPAIGN_CONSOLE_WEB_PASSWORD", "short")
    assert main(["--database-url", unreachable, "web", "--password"]) == 1
    assert "shorter than 8 characters" in capsys.readouterr().err


@pytest.mark.parametrize(
    "option", [["--max-sessions", "0"], ["--port", "70000"], ["--idle-timeout", "soon"]]
)
def test_bad_options(option, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["web", *option])
    assert exit.value.code == 2
    assert option[0] in capsys.readouterr().err
