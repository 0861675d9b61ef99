"""The user's keys file: where it is, what it says, and the key names in it as Textual spells
them. What the ids in it must be checked against is tui/keymap.py's work; this module knows
no screen, so any screen (help) can say where the file is.

The file is $CAMPAIGN_CONSOLE_KEYS when set, else $XDG_CONFIG_HOME/campaign-console/keys.toml
(~/.config when XDG_CONFIG_HOME is unset). It maps a binding id to one key or several:

    "campaigns.open" = "enter,ctrl+o"
    "app.find" = ["f", "ctrl+f"]
    [recipients]
    search = "s"

A table groups the ids of one screen: `[recipients]` with `search = ...` is recipients.search.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from textual.keys import REPLACED_KEYS, Keys, _character_to_key, key_to_character

from core.errors import InvalidInput

ENV = "CAMPAIGN_CONSOLE_KEYS"
MODIFIERS = ("alt", "ctrl", "hyper", "meta", "shift", "super")  # Textual's order: sorted
# Keys with a name of their own (escape, pageup, f5, ...): Textual's names without modifiers.
NAMED_KEYS = frozenset(
    k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")
) - {"ctrl-at", "return"}  # "return" never arrives: a terminal's Enter is "enter"


class KeysFileError(InvalidInput):
    """The keys file can't be used: the app does not start, and the message says why."""


def path() -> Path:
    """Where the keys file is (whether or not there is one)."""
    explicit = os.environ.get(ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "campaign-console" / "keys.toml"


def shown_path() -> str:
    """The path as help shows it: ~ for the home directory."""
    where, home = path(), Path.home()
    return f"~/{where.relative_to(home)}" if where.is_relative_to(home) else str(where)


def read(where: Path | None = None) -> dict[str, list[str]]:
    """Binding id -> the keys the file gives it, as written (not yet checked); {} when there
    is no file at the default place. KeysFileError when the file can't be read or isn't a
    table of ids to a key string or a list of key strings."""
    where = where or path()
    if not where.exists():
        if os.environ.get(ENV):
            raise KeysFileError(f"{where}: no such keys file (named by ${ENV})")
        return {}
    try:
        with open(where, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise KeysFileError(f"{where}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise KeysFileError(f"{where}: not valid TOML: not UTF-8 text") from None
    except OSError as exc:
        raise KeysFileError(f"{where}: can't be read: {exc.strerror or exc}") from None
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    _flatten(data, "", found, problems)
    if problems:
        raise KeysFileError(f"{where}: " + "; ".join(problems))
    return found


def _flatten(
    table: dict[str, object], prefix: str, found: dict[str, list[str]], problems: list[str]
) -> None:
    for name, value in table.items():
        binding_id = f"{prefix}{name}"
        if isinstance(value, dict):
            _flatten(value, f"{binding_id}.", found, problems)
        elif isinstance(value, str):
            found[binding_id] = value.split(",")
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            found[binding_id] = [part for v in value for part in v.split(",")]
        else:
            problems.append(
                f'"{binding_id}" = {value!r}: give a key ("o"), keys ("enter,o") '
                'or a list of keys (["enter", "o"])'
            )


def normalize(key: str) -> str | None:
    """`key` as Textual names it ("?" is question_mark, "shift+ctrl+up" is ctrl+shift+up), or
    None when Textual knows no such key."""
    key = key.strip()
    if not key:
        return None
    *modifiers, base = key.split("+") if len(key) > 1 else [key]
    modifiers = [m.lower() for m in modifiers]
    if len(base) > 1 and base.lower() in NAMED_KEYS:
        base = base.lower()  # Enter, PageUp
    if not base or len(set(modifiers)) < len(modifiers):
        return None
    if not all(m in MODIFIERS for m in modifiers):
        return None
    if len(base) == 1:
        base = _character_to_key(base)
    elif base not in NAMED_KEYS:
        # question_mark, full_stop; slash is Unicode's solidus
        character = key_to_character(base) or key_to_character(REPLACED_KEYS.get(base, base))
        if character is None or _character_to_key(character) != base:
            return None
    return "+".join([*sorted(modifiers), base])


KNOWN_KEYS_HINT = (
    "a character (o, O, ?, /) or a named key (enter, escape, tab, space, up, down, left, "
    "right, home, end, pageup, pagedown, insert, delete, backspace, f1..f24), with "
    "ctrl+, alt+ or shift+ before it if wanted"
)
