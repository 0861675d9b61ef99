"""`[` and `]` page every paged screen when typed in a real terminal (issue 11, defect 1)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("open_keys", "first", "second"),
    [
        (b"", "1-200 of 218", "201-218 of 218"),
        (b"\r", "rows 1-100 of 250", "rows 101-200 of 250"),
        (b"l", "newest 1-100", "newest 101-200"),
        (b"S", "rows 1-100 of 151", "rows 101-151 of 151"),
    ],
    ids=["campaigns", "recipients", "event log", "suppressions"],
)
def test_brackets_page_forward_and_back(terminal, open_keys, first, second):
    t = terminal()
    t.send(open_keys)
    t.wait_for(first)
    t.send(b"]")
    t.wait_for(second)
    t.send(b"[")
    t.wait_for(first)
