"""A row of radio buttons for a form: Enter picks the highlighted choice and moves on to the
next field (space picks it and stays); the picked one shows a mark and bold, not a colour alone.

Textual's radio button marks every choice with the same dot in a different colour; with
NO_COLOR the colours turn grey and the picked dot was the darkest of the row (issue 11.8).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding
from textual.widgets import RadioButton, RadioSet


class Choice(RadioButton):
    """A radio button whose dot is there only while it is picked."""

    DEFAULT_CSS = """
    Choice.-on > .toggle--label {
        text-style: bold;
    }
    """

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # per instance: on or off
        return "●" if self.value else " "


class ChoiceSet(RadioSet):
    """Choices (key, label) in a row; `value` is the key picked, known as soon as the key that
    picked it is handled (the Changed message comes later)."""

    BINDINGS = [
        Binding(
            "enter",
            "choose",
            "Choose",
            show=False,
            id="choices.choose",
            tooltip="Pick the highlighted choice and go to the next field",
        ),
    ]

    DEFAULT_CSS = """
    ChoiceSet {
        layout: horizontal;
        width: 100%;
    }
    ChoiceSet > Choice {
        width: auto;
        margin-right: 2;
    }
    """

    def __init__(self, choices: Sequence[tuple[str, str]], value: str, *, id: str) -> None:
        keys = [key for key, _ in choices]
        if value not in keys:
            raise ValueError(f"{value!r} is not one of {keys}")
        super().__init__(
            *(Choice(label, key == value, name=key, id=f"{id}-{key}") for key, label in choices),
            id=id,
        )
        self.value = value

    def _picked(self) -> None:
        if self._selected is not None:
            self.value = self._nodes[self._selected].name or self.value

    def action_toggle_button(self) -> None:
        super().action_toggle_button()
        self._picked()

    def action_choose(self) -> None:
        self.action_toggle_button()
        self.screen.focus_next()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.value = event.pressed.name or self.value  # a click
