"""Recipient CSVs as spreadsheets write them, and addresses that only look right (issue 19.16;
issue 11.11's core part): semicolon- and tab-separated files are read by their delimiter, not
taken as one odd address; dots at the ends of the local part or doubled, characters no
address holds, and invisible or text-direction characters are refused with a message naming
the problem; a line repeating an earlier one says which; `~` in the path is the home."""

from __future__ import annotations

import io

import pytest

from core import recipients
from tests.reliability.conftest import unchanged
from tests.reliability.hostile import World, make_world, one
from tests.reliability.test_hostile_cli import run_cli


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


def _import(world: World, text: str):
    return world.db.run(lambda s: recipients.import_csv(s, "camp_draft", io.StringIO(text)))


BAD = [
    ("leading-dot", ".dot@example.com", "starts or ends with a dot"),
    ("trailing-dot", "dot.@example.com", "starts or ends with a dot"),
    ("double-dot", "a..b@example.com", "two dots in a row"),
    ("semicolon", "s1@example.com;x", "contains ';'"),
    ("angle-bracket", "<a@example.com>", "contains '<'"),
    ("bidi-override", "ana\u202emoc.elpmaxe@example.com", "U+202E"),
    ("bidi-isolate", "ana\u2067@example.com", "U+2067"),
    ("zero-width-space", "ana\u200b@example.com", "U+200B"),
    ("zero-width-joiner", "an\u200da@example.com", "U+200D"),
    ("bom-inside", "ana@exam\ufeffple.com", "U+FEFF"),
    ("c1-csi", "ana\u009b@example.com", "spaces or control characters"),
]


@pytest.mark.parametrize(("address", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_an_address_that_only_looks_right_is_refused(world: World, address, says):
    # The first line fixes the delimiter as a comma, so the line is judged as one address.
    with unchanged(world.url):
        result = _import(world, f"email,name\n{address},X\n")
    assert result.added == 0
    assert [e.line for e in result.errors] == [2]
    assert says in result.errors[0].reason


@pytest.mark.parametrize("sep", [";", "\t"], ids=["semicolon", "tab"])
def test_a_semicolon_or_tab_file_is_read_by_its_delimiter(world: World, sep):
    text = sep.join(["email", "name", "company"]) + "\n"
    text += sep.join([f"s1.{ord(sep)}@example.com", "Name, First", "Co"]) + "\n"
    text += sep.join([f"s2.{ord(sep)}@example.com", "Second", ""]) + "\n"
    result = _import(world, text)
    assert (result.added, result.errors, result.delimiter) == (2, (), sep)
    row = one(
        world.url,
        "SELECT (name, company) FROM leads WHERE email = %s",
        f"s1.{ord(sep)}@example.com",
    )
    assert row == ("Name, First", "Co")


def test_a_semicolon_file_without_header_is_detected(world: World):
    result = _import(world, "s3@example.com;name;co\ns4@example.com;other;co\n")
    assert (result.added, result.errors, result.delimiter) == (2, (), ";")
    assert one(world.url, "SELECT name FROM leads WHERE email = 's3@example.com'") == "name"


def test_a_line_repeating_one_in_the_file_says_which(world: World, capsys, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("email\nrep1@example.com\nrep2@example.com\nREP1@example.com\nbad\n")
    code, out, err = run_cli(capsys, world.url, "import-recipients", "camp_draft", str(path))
    assert code == 0, err
    assert "imported 2 recipients" in out
    assert "0 already in the campaign" in out and "1 repeated in the file" in out
    assert "line 4: duplicate of line 2 in this file: 'REP1@example.com'" in err
    result = _import(world, "rep1@example.com\nrep9@example.com\nrep9@example.com\n")
    assert result.already_in_campaign == 1
    assert [(d.line, d.reason) for d in result.in_file_duplicates] == [
        (3, "duplicate of line 2 in this file")
    ]


def test_every_bad_line_is_listed(world: World, capsys, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("".join(f"bad{i}\n" for i in range(30)) + "fine1@example.com\n")
    code, out, err = run_cli(capsys, world.url, "import-recipients", "camp_draft", str(path))
    assert code == 0 and "imported 1 recipients" in out
    assert [line.split(":")[0] for line in err.splitlines()[:30]] == [
        f"line {i}" for i in range(1, 31)
    ]
    assert "30 lines were not imported" in err


def test_a_tilde_path_is_the_home_directory(world: World, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "home.csv").write_text("tilde@example.com\n")
    code, out, err = run_cli(capsys, world.url, "import-recipients", "camp_draft", "~/home.csv")
    assert code == 0, err
    assert "imported 1 recipients" in out
