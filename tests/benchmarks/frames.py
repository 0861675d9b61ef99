"""When a headless app produced the first frame showing something: the benchmarks' stopwatch.

A headless app composes every frame as it would for a terminal and then skips the write.
FrameClock wraps App._display (the one place a finished frame goes to the driver), encodes
the frame as a terminal would be sent it, and stamps the first frame after which a condition
holds. A figure is then "key press → that frame": what a person at the terminal waits for,
without the test harness's own waits (Pilot.press and pause wait for every widget to go idle,
which adds tens of milliseconds after the frame is out).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual._compositor import CompositorUpdate
from textual.app import App


class FrameClock:
    def __init__(self, app: App, on_frame: Callable[[], None] | None = None) -> None:
        """`on_frame` is called after every frame (to note what it showed)."""
        self.app = app
        self.frames = 0
        self._condition: Callable[[], bool] | None = None
        self.at: float | None = None
        original = app._display

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)  # the bytes a terminal would get
            self.frames += 1
            if on_frame is not None:
                on_frame()
            if self._condition is not None and self.at is None and self._condition():
                self.at = time.perf_counter()

        app._display = display  # type: ignore[method-assign]

    def expect(self, condition: Callable[[], bool]) -> None:
        """Stamp the first frame from now on after which `condition()` is true."""
        self._condition, self.at = condition, None

    async def wait(self, timeout: float = 60.0) -> float:
        """perf_counter() of that frame."""
        deadline = time.perf_counter() + timeout
        while self.at is None:
            if time.perf_counter() > deadline:
                raise TimeoutError("no frame showed it")
            await asyncio.sleep(0.001)
        return self.at


def terminal_keys(data: bytes) -> list[str]:
    """The keys Textual makes of the bytes a terminal sends (its own parser, as the driver
    uses it): `]` is b"]", Enter b"\\r". Press these, never a binding's name, so a figure is
    for a key a person can press."""
    from textual import events
    from textual._xterm_parser import XTermParser

    parser = XTermParser()
    found = [*parser.feed(data.decode()), *parser.tick()]
    keys = [e.key for e in found if isinstance(e, events.Key)]
    if not keys:
        raise ValueError(f"no key in {data!r}")
    return keys
