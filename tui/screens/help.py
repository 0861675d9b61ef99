"""Every key of the screen underneath, with what it does: the screen's own keys first, then the
keys that move through rows and pages, then the keys that work everywhere; each with its
binding id, whose first part names the module that binds it (campaigns.open: the package
tui/screens/campaigns/; navigation.goto: tui/screens/shared/navigation.py; table.down:
tui/widgets/table.py; app.help: tui/app.py). The keys
shown are the ones in force, rebound ones included, and the foot says where keys.toml is."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from tui import keys_file

SECTIONS = ("this screen", "moving around", "everywhere")


@dataclass(frozen=True)
class HelpEntry:
    id: str
    keys: tuple[str, ...]  # as shown: "g", "Home"
    description: str
    tooltip: str
    section: str  # one of SECTIONS


def help_entries(screen: Screen) -> list[HelpEntry]:
    """What help lists for `screen` as it is now: every enabled binding that has an id (the
    DataTable's own generic keys have none), one entry per id with all its keys. A screen's
    key that the focused table also binds without an id (Enter: the table selects the row,
    which opens it) is listed; one that a nearer binding with an id takes over is not."""
    app = screen.app
    found: dict[str, tuple[list[str], Binding, str]] = {}
    # The nearest node binding each key. Its bindings of that key are all listed (the one
    # its state enables is what the key does: `s` is Start, or Resume on a paused campaign);
    # a farther node's binding of the key is taken over when the nearest one has an id.
    first: dict[str, tuple[DOMNode, Binding]] = {}
    for node, bindings in screen._modal_binding_chain:
        for key, b in bindings:
            nearest_node, nearest = first.setdefault(key, (node, b))
            if nearest_node is not node and nearest.id:
                continue
            if not b.id or not b.description:
                continue
            if app._check_action_state(b.action, node) is False:
                continue
            keys, _b, _s = found.setdefault(b.id, ([], b, _section(node, screen, app, b.id)))
            display = app.get_key_display(b)
            if display not in keys:
                keys.append(display)
    entries = [
        # Typed keys (g) before named ones (home), whatever order the bindings merged in.
        HelpEntry(bid, tuple(sorted(keys, key=len)), b.description, b.tooltip or "", section)
        for bid, (keys, b, section) in found.items()
    ]
    return sorted(entries, key=lambda e: SECTIONS.index(e.section))  # stable: keeps key order


def _section(node: DOMNode, screen: Screen, app: App, binding_id: str) -> str:
    if node is app:
        return "everywhere"
    if node is screen and not binding_id.startswith("navigation."):
        return "this screen"
    return "moving around"  # the table's row keys and the paged screens' shared keys


class HelpScreen(ModalScreen):
    DEFAULT_CLASSES = "dialog"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close", id="help.close", tooltip="Close help"),
        Binding(
            "question_mark",
            "app.pop_screen",
            "Close",
            show=False,
            id="help.close2",
            tooltip="Close help",
        ),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.entries = help_entries(screen)
        self.screen_name = type(screen).__name__.removesuffix("Screen").lower()

    def compose(self) -> ComposeResult:
        with Vertical(classes="box", id="help-box"):
            yield Label(f"Keys on the {self.screen_name} screen", classes="title")
            with VerticalScroll(id="keys"):
                yield Static(self._table(), id="keys-table")
            yield Label(
                # Each line fits 80 columns (a longer one is cut at the edge).
                "ctrl+p: palette (every action, jump to a campaign)  ctrl+q: quit  "
                f"{self._key_of('help.close')}: close\n"
                f"Rebind keys in {keys_file.shown_path()} (README: Keys)",
                classes="hint",
                markup=False,
            )

    def _key_of(self, binding_id: str) -> str:
        """The key that `binding_id` has here, as shown: rebound in keys.toml or not."""
        for _node, bindings in self._modal_binding_chain:
            for _key, b in bindings:
                if b.id == binding_id:
                    return self.app.get_key_display(b)
        return "?"

    def _table(self) -> Table:
        # A Rich table in a vertical scroll: descriptions wrap to the width, and Home/End
        # scroll up and down (a DataTable's End scrolls sideways and hides the keys).
        table = Table(box=None, expand=True, show_edge=False, pad_edge=False)
        table.add_column("Key", no_wrap=True, style="bold")
        table.add_column("Action", no_wrap=True)
        table.add_column("What it does (binding id: module.action)", ratio=1)
        section = None
        for e in self.entries:
            if e.section != section:
                section = e.section
                table.add_row(Text(section, style="bold underline"), "", "")
            what = Text.assemble(e.tooltip, "  ", (e.id, "dim"))
            table.add_row(" ".join(e.keys), e.description, what)
        return table

    def on_mount(self) -> None:
        self.query_one("#keys", VerticalScroll).focus()
