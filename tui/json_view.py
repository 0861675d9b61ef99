"""JSON shown to a person, bounded: `json.dumps(indent=2)` of event_data nested 980 deep is
1.9 MB of indentation (issue 19.8), which the screen took minutes to lay out. pretty() writes
the same layout without recursion, shows at most MAX_DEPTH levels and MAX_CHARS characters,
and says what it left out ("{… 27 more levels}", "(cut at 16 KB of 270 KB)"). A value
too deep to parse at all (core.store.jsonb.DeepJson) is shown as stored, on one line, also cut."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from core.events import MAX_EVENT_DATA_DEPTH
from core.store import DeepJson, nesting_depth

MAX_DEPTH = MAX_EVENT_DATA_DEPTH + 1  # the timeline wraps event_data in one object
MAX_CHARS = 16 * 1024


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _items(value: dict | list | tuple) -> Iterator[tuple[str | None, Any]]:
    if isinstance(value, dict):
        return iter(sorted((str(k), v) for k, v in value.items()))
    return ((None, v) for v in value)


@dataclass(slots=True)
class _Frame:
    """An open object or list: what is left of it, its closer, its depth, items written."""

    items: Iterator[tuple[str | None, Any]]
    closer: str
    depth: int
    written: int = 0


def _chunks(data: Any, max_depth: int) -> Iterator[str]:
    """The text of json.dumps(data, indent=2, sort_keys=True) in pieces, levels past
    max_depth replaced by a note of how many there were."""
    stack: list[_Frame] = []
    value, level = data, 0
    while True:
        if isinstance(value, DeepJson):
            yield f"(nested {value.depth:,} levels deep, shown as stored) {value.text}"
        elif isinstance(value, dict | list | tuple) and value:
            opener, closer = ("{", "}") if isinstance(value, dict) else ("[", "]")
            if level >= max_depth:
                yield f"{opener}… {nesting_depth(value):,} more levels{closer}"
            else:
                yield opener
                stack.append(_Frame(_items(value), closer, level + 1))
        else:
            yield _scalar(value)
        while stack:
            frame = stack[-1]
            item = next(frame.items, None)
            if item is None:
                stack.pop()
                yield "\n" + "  " * (frame.depth - 1) + frame.closer
                continue
            yield ("," if frame.written else "") + "\n" + "  " * frame.depth
            frame.written += 1
            key, value = item
            level = frame.depth
            if key is not None:
                yield _scalar(key) + ": "
            break
        else:
            return


def size(n: int) -> str:
    if n < 1024:
        return f"{n:,} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:,.0f} KB"
    return f"{n / (1024 * 1024):,.1f} MB"


def pretty(data: Any, *, max_depth: int = MAX_DEPTH, max_chars: int = MAX_CHARS) -> str:
    """Indented JSON of at most max_depth levels and about max_chars characters; a cut is said."""
    shown: list[str] = []
    length = 0
    for chunk in _chunks(data, max_depth):
        if length < max_chars:
            shown.append(chunk[: max_chars - length])
        length += len(chunk)
    if length <= max_chars:
        return "".join(shown)
    return "".join(shown) + f"\n… (cut at {size(max_chars)} of {size(length)})"
