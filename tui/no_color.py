"""Grey levels that stay readable when NO_COLOR is set.

With NO_COLOR, Textual turns every colour into its grey level. Red, magenta and blue turn
into dark greys that nearly vanish on the dark backgrounds (a "failed" status, a "bounced"
recipient, an error). Here a colour keeps its grey level where that still reads against its
background, and turns white or black where it doesn't. Emphasis (bold, dim, reverse) is kept,
so the screens rely on words and emphasis, never on colour alone.
"""

from __future__ import annotations

from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

MIN_CONTRAST = 0.4  # brightness apart, of 1


@lru_cache(1024)
def _readable(style: Style, background: Color) -> Style:
    bg = Color.from_rich_color(style.bgcolor).monochrome if style.bgcolor else background
    fg = Color.from_rich_color(style.color).monochrome if style.color else None
    if fg is not None and abs(fg.brightness - bg.brightness) < MIN_CONTRAST:
        fg = bg.get_contrast_text(1.0)
    return style + Style.from_color(
        fg.rich_color if fg is not None else None,
        bg.rich_color if style.bgcolor else None,
    )


class ReadableMonochrome(LineFilter):
    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        grey = background.monochrome
        return [
            Segment(text, None if style is None else _readable(style, grey), control)
            for text, style, control in segments
        ]
