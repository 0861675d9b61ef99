"""Keys a user can rebind: the keys file (tui/keys_file.py) checked against the bindings the app
really has, then handed to Textual's keymap (App.set_keymap), which moves the key of every
binding with that id: the app's, every screen's and every widget's.

A binding id is `<module>.<action>`: the module (or package) in tui/screens/,
tui/screens/shared/ or tui/widgets/ (or tui/app.py for `app.`) whose BINDINGS hold it. The app
does not start (KeysFileError, printed by the `campaigns` command) when the file names an id no
binding has, a key Textual does not know, or makes a clash: two bindings on one key of one
screen that did not share it before. What a screen's keys are: its own (with its base
classes'), those of our widgets its module (or a base class's module) uses, a table's row keys,
say, and the app's (on a modal screen only the app's priority keys, ctrl+q and ctrl+p, reach
it).

The screen and widget modules are imported by name (pkgutil), so this module has no import
edge to them and any of them may use tui.keys_file.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from textual.app import App
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen

from tui import keys_file
from tui.keys_file import KNOWN_KEYS_HINT, KeysFileError

PACKAGES = ("screens", "widgets")  # under tui/


def install(app: App) -> None:
    """Read the keys file and put it into `app`'s keymap; KeysFileError if it can't be used."""
    app.set_keymap(keymap_for(app, keys_file.read(), where=keys_file.path()))


def owners() -> list[type[DOMNode]]:
    """Every screen and widget class in tui/screens and tui/widgets, their modules imported."""
    found: list[type[DOMNode]] = []
    for package in PACKAGES:
        folder = Path(__file__).with_name(package)
        # Subpackages too: a screen too big for one module is a package (tui/screens/campaigns/).
        walked = pkgutil.walk_packages([str(folder)], prefix=f"tui.{package}.")
        for info in sorted(walked, key=lambda i: i.name):
            module = importlib.import_module(info.name)
            found += [
                obj
                for obj in vars(module).values()
                if isinstance(obj, type)
                and issubclass(obj, DOMNode)
                and obj.__module__ == module.__name__
            ]
    return found


def declared_ids(app_class: type[App], classes: Iterable[type[DOMNode]]) -> dict[str, set[str]]:
    """Binding id -> the modules whose classes list it in their own BINDINGS."""
    found: dict[str, set[str]] = {}
    for cls in [app_class, *classes]:
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                found.setdefault(binding.id, set()).add(cls.__module__)
    return found


@dataclass(frozen=True)
class Scope:
    """One screen and the binding maps whose keys reach it, nearest first."""

    name: str  # "CampaignsScreen (tui/screens/campaigns/screen.py)"
    maps: tuple[BindingsMap, ...]


def scopes(app: App, classes: list[type[DOMNode]]) -> list[Scope]:
    """Each screen of `classes` (not the base classes others are built from) with the maps of
    the widgets its modules use, its own, and the app's that reach it."""
    widgets = [c for c in classes if not issubclass(c, Screen) and c._merge_bindings()]
    app_map = app._bindings.copy()
    priority = BindingsMap([b for _key, b in app_map if b.priority])
    found = []
    for screen in classes:
        if not issubclass(screen, Screen) or any(screen in c.__bases__ for c in classes):
            continue  # a base class's keys are checked on each screen built from it
        modules = [sys.modules[c.__module__] for c in screen.__mro__ if c.__module__[:4] == "tui."]
        used = [w for w in widgets if any(w in vars(m).values() for m in modules)]
        maps = [w._merge_bindings() for w in used]
        maps += [screen._merge_bindings(), priority if issubclass(screen, ModalScreen) else app_map]
        where = screen.__module__.replace(".", "/") + ".py"
        found.append(Scope(f"{screen.__name__} ({where})", tuple(maps)))
    return found


def keymap_for(app: App, wanted: Mapping[str, list[str]], *, where: Path) -> dict[str, str]:
    """The keymap for Textual (id -> "key,key") from the keys file's `wanted` keys, checked
    against `app`'s bindings; KeysFileError naming the file, each id and key at fault."""
    if not wanted:
        return {}
    classes = owners()
    known = declared_ids(type(app), classes)
    problems: list[str] = []
    keymap: dict[str, str] = {}
    for binding_id, keys in wanted.items():
        if binding_id not in known:
            near = difflib.get_close_matches(binding_id, list(known), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            problems.append(f'"{binding_id}": no binding has this id{hint}')
            continue
        names = []
        for key in keys:
            name = keys_file.normalize(key)
            if name is None:
                problems.append(
                    f'"{binding_id}" = "{key.strip()}": Textual knows no key "{key.strip()}" '
                    f"(a key is {KNOWN_KEYS_HINT})"
                )
            elif name not in names:
                names.append(name)
        if names:
            keymap[binding_id] = ",".join(names)
    if not problems:
        all_scopes = scopes(app, classes)
        keymap |= _kept(all_scopes, keymap, problems)
        problems += _clashes(all_scopes, keymap)
    if problems:
        raise KeysFileError(
            f"keys file {where} refused, so the app did not start:\n  " + "\n  ".join(problems)
        )
    return keymap


def _kept(
    all_scopes: list[Scope], keymap: Mapping[str, str], problems: list[str]
) -> dict[str, str]:
    """The bindings that share a key with a rebound one on one node, given their own keys
    again: Textual's keymap takes the whole key from a node when it moves one binding off it
    (`s` is Start and Resume on the campaign list: moving Start alone would drop Resume)."""
    kept: dict[str, str] = {}
    for scope in all_scopes:
        for bindings_map in scope.maps:
            for key, bindings in bindings_map.key_to_bindings.items():
                moved = [b.id for b in bindings if b.id in keymap]
                for b in bindings if moved else ():
                    if b.id in keymap:
                        continue
                    if b.id is None:
                        problems.append(
                            f'"{moved[0]}": its key {key} is also Textual\'s "{b.action}" '
                            f"on {scope.name}, which rebinding it would take away"
                        )
                        continue
                    own = [k for k, bs in bindings_map.key_to_bindings.items() if b in bs]
                    kept[b.id] = ",".join(own)
    return kept


def _clashes(all_scopes: list[Scope], keymap: Mapping[str, str]) -> list[str]:
    """Each rebound key that lands on a key another binding of the same screen has (one that
    shares a key with another by default, Start and Resume on `s`, is no clash). Textual's
    keymap, given the same maps, must then put every binding where this check saw it."""
    found: dict[tuple[str, str], tuple[list[str], list[str]]] = {}  # -> (others, screens)
    problems: list[str] = []
    for scope in all_scopes:
        before: set[tuple[str, str]] = set()
        after: dict[str, list[str]] = {}
        for bindings_map in scope.maps:
            before |= {(key, _name(b)) for key, b in bindings_map}
            moved = _moved(bindings_map, keymap)
            for key, name in moved:
                if name not in after.setdefault(key, []):
                    after[key].append(name)
            textual = bindings_map.copy()
            textual.apply_keymap(keymap)
            if {(key, _name(b)) for key, b in textual} != moved:
                problems.append(f"on {scope.name} Textual's keymap puts keys elsewhere")
        for key, names in after.items():
            for name in names if len(names) > 1 else ():
                if (key, name) not in before:
                    others, screens = found.setdefault((name, key), ([], []))
                    others += [n for n in names if n != name and n not in others]
                    screens.append(scope.name)
    # A clash is the reason Textual puts keys elsewhere (it drops one of the two): say that.
    return [
        f'"{name}" = "{key}": on {_screens(screens)} {key} is already {", ".join(others)}'
        for (name, key), (others, screens) in found.items()
    ] or problems


def _moved(bindings_map: BindingsMap, keymap: Mapping[str, str]) -> set[tuple[str, str]]:
    """(key, binding) pairs of `bindings_map` once `keymap` has moved its ids' keys."""
    return {
        (moved_key, _name(b))
        for key, b in bindings_map
        for moved_key in (keymap[b.id].split(",") if b.id and b.id in keymap else [key])
    }


def _name(binding: Binding) -> str:
    return binding.id or f'Textual\'s "{binding.action}"'


def _screens(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} (and {len(names) - 1} more screens)"
