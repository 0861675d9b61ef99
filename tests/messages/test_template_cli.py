"""`campaigns template list|show|add|edit|delete|render|sender` end to end against a real
database through tui.cli.main, the editor a stand-in script."""

from __future__ import annotations

import email
import email.policy
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from core.tracking import ENV_KEY
from tests.factories import make_campaign, make_recipients
from tui.cli import main

FILE = """Name: Welcome
Subject: Hello {{ name }}

<html><body><p>Hi {{ name }} at {{ company }}</p>
<a href="https://example.com/a?x=1&amp;y=[2]#f">A</a></body></html>
"""


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)


@pytest.fixture
def cli(db_url, capsysbinary):
    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([*args, "--database-url", db_url])
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsysbinary.readouterr()
        return code, out.out.decode(), out.err.decode()

    return run


def editor_script(tmp_path: Path, replacements: list[str]) -> str:
    """An $EDITOR that writes each replacement in turn (the last again after), keeping what
    the file said at the top in seen.txt."""
    queue = tmp_path / "queue"
    queue.mkdir()
    for i, content in enumerate(replacements):
        (queue / f"{i:02d}").write_text(content, encoding="utf-8")
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        f"q = sorted(pathlib.Path({str(queue)!r}).iterdir())\n"
        "target = pathlib.Path(sys.argv[-1])\n"
        f"with open({str(tmp_path / 'seen.txt')!r}, 'a') as seen:\n"
        "    seen.write(target.read_text().splitlines()[0] + '\\n')\n"
        "target.write_bytes(q[0].read_bytes())\n"
        "if len(q) > 1: q[0].unlink()\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}"


def test_add_list_show_render_delete(cli, session, tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(FILE, encoding="utf-8")
    code, out, err = cli("template", "add", str(path))
    assert code == 0, err
    tid = int(out.strip())
    c = make_campaign(session, "camp_cli_t", template_id=tid)
    make_recipients(session, c, 1)
    addr = session.execute(text("SELECT email_address FROM campaign_recipients")).scalar_one()
    session.commit()
    code, out, _ = cli("template", "list")
    assert "Welcome\t1\t" in out
    code, out, _ = cli("template", "show", "Welcome")
    assert out == FILE
    assert cli("template", "sender", "Acme <news@mail.acme.test>")[0] == 0
    code, out, err = cli("template", "render", str(tid), addr)
    assert code == 0, err
    msg = email.message_from_string(out, policy=email.policy.default)
    assert msg["Subject"].startswith("Hello Lead")
    assert msg["Message-ID"].endswith("@mail.acme.test>")
    assert msg["Return-Path"].startswith("<bounces+")
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/alternative", "text/plain", "text/html"
    ]  # fmt: skip
    assert cli("template", "delete", "Welcome")[0] == 1  # a draft uses it
    session.execute(text("UPDATE campaigns SET status = 'completed'"))
    session.commit()
    assert cli("template", "delete", "Welcome")[0] == 0


def test_bad_files_refused(cli, tmp_path, session):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Name: x\nSubject: y\n\n<p>caf\xe9</p>\n")
    code, _, err = cli("template", "add", str(bad))
    assert code == 1 and "line 4: byte 0xe9 is not UTF-8" in err
    bad.write_text("Name: x\nSubject: {{ nope }}\n\n<p>x</p>\n")
    code, _, err = cli("template", "add", str(bad))
    assert code == 1 and "subject, line 1: no field 'nope'" in err
    assert session.execute(text("SELECT count(*) FROM templates")).scalar_one() == 0


def test_edit_in_the_editor_error_reopens(cli, tmp_path, monkeypatch, session):
    path = tmp_path / "t.txt"
    path.write_text(FILE, encoding="utf-8")
    cli("template", "add", str(path))
    broken = FILE.replace("{{ company }}", "{{ compny }}")
    fixed = FILE.replace("Hi {{ name }}", "Dear {{ name }}")
    monkeypatch.setenv("VISUAL", editor_script(tmp_path, [broken, fixed]))
    code, _, err = cli("template", "edit", "Welcome")
    assert code == 0, err
    seen = (tmp_path / "seen.txt").read_text().splitlines()
    assert seen[0] == "Name: Welcome"
    assert seen[1].startswith("#! html body, line 1: no field 'compny'")
    html = session.execute(text("SELECT html_body FROM templates")).scalar_one()
    assert "Dear {{ name }}" in html


def test_no_start_on_a_template_that_does_not_render(cli, session):
    # Written past the checks (as another program could): the save would have refused it.
    session.execute(
        text(
            "INSERT INTO templates (id, name, subject, html_body) VALUES"
            " (50, 'Broken', 'Hi', '<p>{{ nope }}</p>')"
        )
    )
    c = make_campaign(session, "camp_broken", template_id=50)
    make_recipients(session, c, 1)
    session.commit()
    code, _, err = cli("status", "camp_broken", "start")
    assert code == 1 and "can't start: its template does not render" in err
    assert "no field 'nope'" not in err or "nope" in err
    status = session.execute(text("SELECT status FROM campaigns WHERE id = :i"), {"i": c.id})
    assert status.scalar_one() == "draft"
