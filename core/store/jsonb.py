"""Reading JSON columns that may be nested deeper than Python can handle.

Python's json parses and writes nested values by recursion: 1,000 levels (which fit in
event_data's 16 KiB when another program writes it) raise RecursionError, on reading or on
writing it out again, depending on how deep the stack already is. So a value nested deeper
than MAX_READ_DEPTH comes back as DeepJson: an empty dict (code that reads keys finds none)
holding the stored text, which exports write out as it is and screens show cut.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_READ_DEPTH = 100
_BRACKETS = MAX_READ_DEPTH  # fewer brackets than this can't nest deeper
# json.dumps(ensure_ascii=False) escapes C0 controls but writes DEL and C1 controls (U+009B
# is CSI, a terminal's escape) raw; in JSON text they can only be inside strings.
_RAW_CONTROLS = {c: f"\\u{c:04x}" for c in range(0x7F, 0xA0)}
_RAW_CONTROL = re.compile("[\x7f-\x9f]")


class DeepJson(dict):
    """A JSON value nested too deeply to parse; `text` is it as stored, `depth` its nesting."""

    def __init__(self, text: str, depth: int) -> None:
        super().__init__()
        self.text, self.depth = text, depth

    def __repr__(self) -> str:
        return f"DeepJson(depth={self.depth}, {len(self.text):,} characters)"


def nesting_depth(value: Any) -> int:
    """How many objects and arrays are inside one another in `value` (0 for a scalar);
    no recursion, so any depth is measured. A container met twice (a cycle, or one shared
    by two parents) is measured once."""
    deepest, stack, seen = 0, [(value, 1)], set()
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list | tuple) and id(item) not in seen:
            seen.add(id(item))
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def text_depth(text: str) -> int:
    """The nesting of JSON text, counted on its brackets outside strings."""
    deepest = level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def escape_controls(json_text: str) -> str:
    """JSON text with DEL and C1 controls written as \\u escapes (C0 ones already are)."""
    return json_text.translate(_RAW_CONTROLS) if _RAW_CONTROL.search(json_text) else json_text


def dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps that keeps non-ASCII text readable and escapes every control character:
    still valid JSON, read back to the same value, safe to print on a terminal."""
    return escape_controls(json.dumps(value, ensure_ascii=False, **kwargs))


def loads(data: str | bytes) -> Any:
    """json.loads, but DeepJson for a value nested deeper than MAX_READ_DEPTH."""
    text = data if isinstance(data, str) else bytes(data).decode()
    if text.count("[") + text.count("{") > _BRACKETS:
        depth = text_depth(text)
        if depth > MAX_READ_DEPTH:
            return DeepJson(text, depth)
    return json.loads(text)
