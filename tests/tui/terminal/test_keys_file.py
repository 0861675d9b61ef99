"""Keys rebound in keys.toml, in a real terminal: the new keys, sent as the bytes a terminal
sends, do what the old ones did; help lists the new keys; a keys file that can't be used stops
the `campaigns` command before the app starts, with the message on the terminal."""

from __future__ import annotations

import re
import time

import pytest

from tests.tui.terminal.effects import CAMPAIGNS_HOME, EVENTS_HOME
from tests.tui.terminal.terminal import KEY_BYTES, spawn_app
from tests.tui.terminal.walk import wait

ESC = KEY_BYTES["escape"]


@pytest.fixture
def keys_toml(tmp_path, monkeypatch):
    path = tmp_path / "keys.toml"
    monkeypatch.setenv("CAMPAIGN_CONSOLE_KEYS", str(path))  # the app's pty inherits it

    def write(text: str):
        path.write_text(text)
        return path

    return write


def test_rebound_keys_do_what_the_old_ones_did(terminal, keys_toml):
    keys_toml('"app.events" = "E"\n"campaigns.new" = "ctrl+n"\n')
    t = terminal()
    wait(t, CAMPAIGNS_HOME)
    t.send(b"l")  # the old key of the event log: nothing now
    t.wait_quiet(0.5)
    assert CAMPAIGNS_HOME.search(t.screen_text())
    t.send(b"E")
    wait(t, EVENTS_HOME)
    t.send(ESC)
    wait(t, CAMPAIGNS_HOME)
    t.send(KEY_BYTES["ctrl+n"])
    wait(t, "New campaign")
    t.send(ESC)
    wait(t, CAMPAIGNS_HOME)


def test_help_lists_the_rebound_key_beside_its_id(terminal, keys_toml):
    keys_toml('"app.events" = "E"\n')
    t = terminal()
    wait(t, CAMPAIGNS_HOME)
    t.send(b"?")
    t.wait_for("Keys on the")
    listed = re.compile(r"^\W*E\s+Events\s.*\bapp\.events\b", re.MULTILINE)
    for _ in range(10):  # the app's own keys come last: page down to them
        if listed.search(t.wait_quiet(0.3)):
            break
        t.send(KEY_BYTES["pagedown"])
    assert listed.search(t.screen_text()), t.screen_text()
    assert not re.search(r"^\W*l\s+Events\b", t.screen_text(), re.MULTILINE)


def test_a_clash_stops_the_command_with_the_id_and_the_key(db_url, paged_db, keys_toml):
    path = keys_toml('"app.events" = "n"\n')
    t = spawn_app(db_url)
    try:
        deadline = time.monotonic() + 30
        while t.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert t.process.returncode == 1
        shown = t.wait_quiet(0.3)
        for words in (
            f"error: keys file {path} refused, so the app did not start",
            '"app.events" = "n": on CampaignsScreen',
            "n is already campaigns.new",
        ):
            assert _squeezed(words) in _squeezed(shown), shown
    finally:
        t.close()


def _squeezed(text: str) -> str:
    """Without white space: the terminal wraps a long line anywhere, a path included."""
    return re.sub(r"\s+", "", text)
