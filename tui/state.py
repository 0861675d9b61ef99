"""What the app remembers between runs (a screen's sort), in a small JSON file under
$XDG_STATE_HOME/campaign-console/ (~/.local/state when unset). Losing it loses nothing but
the preference, so a file that can't be read or written is left as it is."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "campaign-console" / "tui-state.json"


def _read() -> dict[str, Any]:
    try:
        data = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load(screen: str) -> dict[str, Any]:
    """What `screen` saved last time, {} when nothing (or nothing readable) was."""
    value = _read().get(screen)
    return value if isinstance(value, dict) else {}


def save(screen: str, values: dict[str, Any]) -> None:
    """Remember `values` for `screen`; the file is replaced whole, never left half-written."""
    path = state_file()
    data = _read()
    data[screen] = values
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # a read-only home: the sort is simply not remembered
