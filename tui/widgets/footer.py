"""Textual's footer, rebuilt only when the bindings it shows have changed."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """The stock footer recomposes (a new, freshly styled widget per key) each time the screen
    says its bindings were updated, which happens several times while a screen opens and on
    every focus change, mostly with nothing changed: six rebuilds, about a third of the time
    from Enter on a campaign to its recipients painted. Here one rebuild at most per refresh,
    and none when the keys, their labels and their enabled states are the same."""

    _shown: tuple | None = None
    _pending = False

    def _signature(self) -> tuple:
        keys = [
            (b.key, b.action, b.description, b.show, enabled, tooltip)
            for _node, b, enabled, tooltip in self.screen.active_bindings.values()
        ]
        return (self.compact, self.show_command_palette, *keys)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._pending:
            return
        if self.is_attached and screen is self.screen:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        signature = self._signature()
        if signature != self._shown:
            self._shown = signature
            await self.recompose()
