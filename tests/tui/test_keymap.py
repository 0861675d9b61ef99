"""Keys rebound in keys.toml (tui/keymap.py, tui/keys_file.py): pressed through Pilot, shown by
help, and a file that can't be used refused at start with a message naming the file, the id
and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.tui.conftest import settle
from tests.tui.helpers import press, select_campaign
from tui import keymap, keys_file
from tui.app import CampaignConsoleApp
from tui.cli import main
from tui.keys_file import KeysFileError, normalize
from tui.screens.event_log import EventLogScreen
from tui.screens.help import HelpScreen, help_entries
from tui.widgets.dialogs import ConfirmDialog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys_toml(tmp_path, monkeypatch):
    """A function writing `text` as the keys file the app reads ($CAMPAIGN_CONSOLE_KEYS)."""
    path = tmp_path / "keys.toml"
    monkeypatch.setenv("CAMPAIGN_CONSOLE_KEYS", str(path))

    def write(text: str) -> Path:
        path.write_text(text)
        return path

    return write


def _declared() -> dict[str, set[str]]:
    return keymap.declared_ids(CampaignConsoleApp, keymap.owners())


def test_every_id_names_the_module_that_binds_it():
    """One hop from help to the code: `campaigns.open` is in tui/screens/campaigns/ (a screen
    too big for one module is a package), `navigation.goto` in tui/screens/shared/navigation.py,
    `table.down` in tui/widgets/table.py, `app.help` in tui/app.py."""
    wrong = {}
    for binding_id, modules in _declared().items():
        prefix = binding_id.split(".")[0]
        named = "tui.app" if prefix == "app" else None
        for folder in ("screens", "screens/shared", "widgets"):
            here = ROOT / "tui" / folder
            if (here / f"{prefix}.py").exists() or (here / prefix / "__init__.py").exists():
                named = "tui." + folder.replace("/", ".") + "." + prefix
        if not any(m == named or m.startswith(f"{named}.") for m in modules):
            wrong[binding_id] = sorted(modules)
    assert wrong == {}, "ids whose first part is not the module binding them"


def test_every_id_has_the_same_keys_wherever_it_is_bound():
    keys: dict[str, set[frozenset[str]]] = {}
    for cls in [CampaignConsoleApp, *keymap.owners()]:
        own: dict[str, set[str]] = {}
        for key, b in cls._merge_bindings():
            if b.id:
                own.setdefault(b.id, set()).add(key)
        for binding_id, found in own.items():
            keys.setdefault(binding_id, set()).add(frozenset(found))
    assert {i: k for i, k in keys.items() if len(k) > 1} == {}


async def test_every_binding_on_its_own_keys_is_no_clash(make_app, keys_toml):
    defaults: dict[str, list[str]] = {}
    for cls in [CampaignConsoleApp, *keymap.owners()]:
        for key, b in cls._merge_bindings():
            if b.id and key not in defaults.setdefault(b.id, []):
                defaults[b.id].append(key)
    keys_toml("".join(f'"{i}" = {keys!r}\n'.replace("'", '"') for i, keys in defaults.items()))
    app = make_app()
    assert set(app._keymap) == set(defaults)


def test_key_names_as_textual_spells_them():
    assert normalize("?") == "question_mark"
    assert normalize("/") == "slash"
    assert normalize("slash") == "slash"
    assert normalize("Enter") == "enter"
    assert normalize("shift+ctrl+up") == "ctrl+shift+up"
    assert normalize("O") == "O"
    assert normalize("f5") == "f5"
    for bad in ("", "entr", "ctrl+", "cmd+x", "ctrl+ctrl+a", "QUESTION MARK"):
        assert normalize(bad) is None, bad


async def test_a_rebound_key_opens_what_the_old_one_did(make_app, keys_toml):
    keys_toml('"app.events" = "E"\n[app]\nfind = ["ctrl+f"]\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "l")  # the old key does nothing now
        assert not isinstance(app.screen, EventLogScreen)
        await press(pilot, "E")
        assert isinstance(app.screen, EventLogScreen)
        await press(pilot, "escape")
        await press(pilot, "ctrl+f")
        assert type(app.screen).__name__ == "FindScreen"


async def test_a_widget_key_rebound_moves_the_table_cursor(make_app, keys_toml):
    keys_toml('"table.down" = "J"\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        rows = app.screen.query_one("#campaigns")
        assert rows.cursor_row == 0
        await press(pilot, "j")
        assert rows.cursor_row == 0
        await press(pilot, "J")
        assert rows.cursor_row == 1


async def test_moving_start_keeps_resume_on_s(make_app, keys_toml, db):
    """Textual's keymap takes a whole key off a screen when one binding on it moves: Start
    moved to z leaves Resume (on `s` too, for a paused campaign) where it was."""
    keys_toml('"campaigns.start" = "z"\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select_campaign(pilot, "camp_paused")
        await press(pilot, "s")
        with db.transaction() as s:
            status = s.execute(
                text("SELECT status FROM campaigns WHERE campaign_id = 'camp_paused'")
            ).scalar_one()
        assert status == "running"
        await select_campaign(pilot, "camp_evil")  # a draft with one recipient
        await press(pilot, "s")  # Start is not on s any more
        assert not isinstance(app.screen, ConfirmDialog)
        await press(pilot, "z")  # Start asks first
        assert isinstance(app.screen, ConfirmDialog)
        assert app.screen.question.plain.startswith("Start camp_evil")


async def test_help_shows_the_rebound_key_and_where_keys_toml_is(make_app, keys_toml):
    path = keys_toml('"campaigns.new" = "N"\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        entries = {e.id: e for e in help_entries(app.screen)}
        assert entries["campaigns.new"].keys == ("N",)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        hint = str(app.screen.query(".hint").last().render())
        assert f"Rebind keys in {keys_file.shown_path()} (README: Keys)" in hint
        assert keys_file.path() == path


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        (
            '"campaigns.opn" = "x"\n',
            ['"campaigns.opn"', "no binding has", "mean campaigns.open"],
        ),
        (
            '"campaigns.new" = "s"\n',
            ['"campaigns.new" = "s"', "campaigns.start", "Campaigns"],
        ),
        ('"app.find" = "n"\n', ['"app.find" = "n"', "campaigns.new"]),
        ('"dialogs.yes" = "escape"\n', ['"dialogs.yes" = "escape"', "dialogs.cancel"]),
        ('"table.down" = "right"\n', ['"table.down" = "right"', "cursor_right"]),
        ('"app.find" = "entr"\n', ['"app.find" = "entr"', 'Textual knows no key "entr"']),
        ('"app.find" = 3\n', ['"app.find" = 3']),
        ('"app.find" = "f\n', ["not valid TOML"]),
    ],
    ids=[
        "unknown id",
        "clash",
        "clash with app",
        "clash in a dialog",
        "clash with Textual",
        "bad key",
        "not a key",
        "bad TOML",
    ],
)
def test_a_keys_file_that_cant_be_used_is_refused(make_app, keys_toml, toml, says):
    path = keys_toml(toml)
    with pytest.raises(KeysFileError) as refused:
        make_app()
    message = str(refused.value)
    for words in [str(path), *says]:
        assert words in message, message


def test_the_command_refuses_to_start_and_says_why(keys_toml, db_url, capsys):
    path = keys_toml('"campaigns.open" = "enter,q"\n')
    assert main(["--database-url", db_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: keys file {path} refused, so the app did not start"), err
    assert '"campaigns.open" = "q": on CampaignsScreen' in err
    assert "campaigns.quit" in err


def test_a_keys_file_named_but_missing_is_refused(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv("CAMPAIGN_CONSOLE_KEYS", str(tmp_path / "nope.toml"))
    with pytest.raises(KeysFileError, match=r"nope\.toml: no such keys file"):
        make_app()


async def test_the_readme_example_is_a_keys_file_the_app_takes(make_app, keys_toml):
    readme = (ROOT / "README.md").read_text()
    example = readme.split("## Keys", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    keys_toml(example)
    app = make_app()
    assert app._keymap["campaigns.open"] == "enter,ctrl+o"
    assert app._keymap["recipients.search"] == "s"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        footer_and_palette = {key for key, active in app.screen.active_bindings.items()}
        assert {"ctrl+o", "ctrl+f", "E"} <= footer_and_palette
