"""The templates screen's keys in a real terminal, as the bytes a terminal sends: T opens it,
Enter the preview and r another recipient, e the editor (a stand-in $VISUAL: the app suspends,
a broken save reopens it with the error, the fixed one is saved and listed), d asks before a
delete, ctrl+r reads again, Escape goes back."""

from __future__ import annotations

import sys

import pytest

from tests.messages.test_template_cli import editor_script
from tests.tui.terminal.effects import CAMPAIGNS_HOME
from tests.tui.terminal.terminal import KEY_BYTES
from tests.tui.terminal.test_walk_main import check_walk
from tests.tui.terminal.walk import wait

ESC = KEY_BYTES["escape"]


def test_templates_keys(terminal, tmp_path, monkeypatch, db):
    broken = "Name: Spring launch\nSubject: Hi {{ nmae }}\n\n<p>x</p>\n"
    fixed = "Name: Spring edited\nSubject: Hi {{ name }}\n\n<p>Hello {{ name }}</p>\n"
    monkeypatch.setenv("VISUAL", editor_script(tmp_path, [broken, fixed]))
    t = terminal()
    wait(t, CAMPAIGNS_HOME)
    t.send(b"T")
    t.wait_for("2 templates")
    t.send(KEY_BYTES["down"])
    t.send(KEY_BYTES["enter"])
    t.wait_for("Subject: Spring is here, Ana")
    t.send(b"r")
    t.wait_for("Recipient's email address")
    t.wait_quiet(0.3)
    t.send(b"ben@example.com")
    t.wait_for("ben@example.com")
    t.send(KEY_BYTES["enter"])
    t.wait_for("Spring is here, Ben")
    t.send(ESC)
    t.wait_for("2 templates")
    t.send(b"e")
    t.wait_for("Spring edited", timeout=20)
    seen = (tmp_path / "seen.txt").read_text().splitlines()
    assert seen[1].startswith("#! subject, line 1: no field 'nmae'")
    t.send(b"d")
    t.wait_for("Delete template")
    t.send(b"n")
    t.wait_quiet(0.3)
    assert "Spring edited" in t.screen_text()
    t.send(KEY_BYTES["ctrl+r"])
    t.wait_for("2 templates")
    t.send(ESC)
    wait(t, CAMPAIGNS_HOME)


@pytest.mark.parametrize("name", ["templates", "preview"])
def test_every_help_listed_binding_has_its_effect(terminal, db, name, monkeypatch):
    # The editor keys: an editor that saves the file empty, so nothing is saved.
    monkeypatch.setenv("VISUAL", f"{sys.executable} -c 'import sys; open(sys.argv[1], \"w\")'")
    check_walk(terminal, db, name)
