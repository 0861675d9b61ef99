"""Events stored once by their dedup key (email_tracking.dedup_key, unique where not NULL).

An endpoint hit carries `hit:<uuid4 hex>` (so a spool replayed twice stores each hit once), a
provider's event `<provider>:<its event id>`. Writers first drop the events whose key is
stored already or came earlier in the same batch (one SELECT, in the writing transaction);
`INSERT ... ON CONFLICT DO NOTHING` on the unique index is the backstop for two writers racing
with the same key (the second waits for the first's commit, then skips).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

T = TypeVar("T")

ON_CONFLICT = "ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING"
_STORED = text("SELECT dedup_key FROM email_tracking WHERE dedup_key = ANY(CAST(:keys AS text[]))")
_STORED_ID = text("SELECT id FROM email_tracking WHERE dedup_key = :key")


def stored_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Those of `keys` some stored event carries."""
    if not keys:
        return set()
    return set(session.scalars(_STORED, {"keys": list(keys)}))


def stored_id(session: Session, key: str) -> int | None:
    """The id of the event stored with this dedup key, if any."""
    return session.execute(_STORED_ID, {"key": key}).scalar_one_or_none()


def drop_duplicates(
    session: Session,
    items: Sequence[T],
    key: Callable[[T], str | None],
    *,
    stored: set[str] | None = None,
) -> tuple[list[T], int]:
    """`items` without those whose key is stored or repeats an earlier item's (items without
    a key all stay), and how many were dropped. `stored`: the stored keys among them, when the
    caller read them already in this transaction (else they are looked up here)."""
    keys = [k for k in map(key, items) if k is not None]
    if not keys:
        return list(items), 0
    seen = set(stored) if stored is not None else stored_keys(session, sorted(set(keys)))
    kept: list[T] = []
    for item in items:
        k = key(item)
        if k is not None:
            if k in seen:
                continue
            seen.add(k)
        kept.append(item)
    return kept, len(items) - len(kept)
