"""Editing text in the user's editor the way git and k9s do: $VISUAL, else $EDITOR, else vi,
on a temporary file; what is saved is handed to `accept`, and a refusal reopens the file with
the message at the top (core.messages.with_note). Saving the file empty, or unchanged after
a refusal, gives up. The caller suspends the terminal (App.suspend()) around edit().
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from core import messages
from core.errors import CampaignConsoleError, InvalidInput
from core.messages.files import NOTE

T = TypeVar("T")


def editor_command() -> list[str]:
    value = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        words = shlex.split(value)
    except ValueError:
        words = [value]
    return words or ["vi"]


def edit(content: str, accept: Callable[[str], T], *, suffix: str = ".html") -> T | None:
    """accept(the text saved) once it does not raise a CampaignConsoleError; None when the
    user gives up (an empty file, or one saved unchanged after an error)."""
    handle, name = tempfile.mkstemp(prefix="campaigns-", suffix=suffix)
    path = Path(name)
    try:
        os.close(handle)
        while True:
            path.write_text(content, encoding="utf-8")
            result = subprocess.run([*editor_command(), str(path)], check=False)
            if result.returncode != 0:
                raise InvalidInput(
                    f"The editor ({editor_command()[0]}) exited with {result.returncode}:"
                    " nothing saved."
                )
            data = path.read_bytes()
            saved_text = data.decode("utf-8", "replace")
            if not messages.strip_notes(saved_text).strip():
                return None
            if saved_text == content and content.startswith(NOTE):
                return None
            try:
                return accept(messages.decode(data, "the edited file"))
            except CampaignConsoleError as exc:
                content = messages.with_note(saved_text, str(exc))
    finally:
        path.unlink(missing_ok=True)
