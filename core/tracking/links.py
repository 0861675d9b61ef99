"""The links a campaign's messages carry (campaign_links): a click URL names one by position,
and the endpoint redirects to the url stored here, never to anything the request says.

Positions count from 1 in the order links are first saved; saving a url the campaign has
already gives its position again, so rendering a message twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.campaigns import campaign_not_found
from core.errors import InvalidInput

MAX_LINKS = 65535  # a click token carries the position as 16 bits
MAX_URL_CHARS = 8192
# "CCLK", per campaign. Decimal in the SQL: PostgreSQL 15 reads no hex literals.
_LOCK = text(f"SELECT pg_advisory_xact_lock({0x43434C4B}, :campaign)")
_SAVED = text("SELECT position, url FROM campaign_links WHERE campaign_id = :campaign")
_ADD = text(
    "INSERT INTO campaign_links (campaign_id, position, url)"
    " SELECT :campaign, * FROM unnest(CAST(:positions AS int[]), CAST(:urls AS text[]))"
)
_LINK = text("SELECT url FROM campaign_links WHERE campaign_id = :campaign AND position = :p")
_EXISTS = text("SELECT 1 FROM campaigns WHERE id = :campaign")


def check_link(url: object) -> str:
    """An absolute http(s) URL without whitespace or control characters; else InvalidInput."""
    if not isinstance(url, str):
        raise InvalidInput(f"A link is a URL (text), not {type(url).__name__}.")
    shown = url if len(url) <= 80 else url[:77] + "..."
    if not url or len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"A link is 1 to {MAX_URL_CHARS} characters (got {len(url):,}).")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidInput(f"The link {shown!r} contains whitespace or a control character.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInput(f"The link {shown!r} is not a URL ({exc}).") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"The link {shown!r} is not an absolute http or https URL.")
    return url


def _check_campaign_pk(campaign_pk: object) -> int:
    if isinstance(campaign_pk, bool) or not isinstance(campaign_pk, int):
        raise InvalidInput(f"A campaign's key is a whole number, not {campaign_pk!r}.")
    return campaign_pk


def save_links(session: Session, campaign_pk: int, urls: Sequence[str]) -> list[int]:
    """The position of each url (in the order given), adding those the campaign has not
    saved yet. InvalidInput for a bad url, NotFound for no such campaign; nothing is
    written then. Writes in the caller's transaction."""
    _check_campaign_pk(campaign_pk)
    checked = [check_link(u) for u in urls]
    if session.execute(_EXISTS, {"campaign": campaign_pk}).first() is None:
        raise campaign_not_found(campaign_pk)
    if not checked:
        return []
    session.execute(_LOCK, {"campaign": campaign_pk})
    position_of = {url: p for p, url in session.execute(_SAVED, {"campaign": campaign_pk})}
    new: dict[str, int] = {}
    top = max(position_of.values(), default=0)
    for url in checked:
        if url not in position_of and url not in new:
            top += 1
            new[url] = top
    if top > MAX_LINKS:
        raise InvalidInput(
            f"A campaign can carry at most {MAX_LINKS:,} links (this would be {top:,})."
        )
    if new:
        session.execute(
            _ADD,
            {"campaign": campaign_pk, "positions": list(new.values()), "urls": list(new)},
        )
        position_of.update(new)
    return [position_of[url] for url in checked]


def link_url(session: Session, campaign_pk: int, position: int) -> str | None:
    """The url at this position of the campaign's links, or None."""
    _check_campaign_pk(campaign_pk)
    if (
        isinstance(position, bool)
        or not isinstance(position, int)
        or not 1 <= position <= MAX_LINKS
    ):
        return None
    return session.execute(_LINK, {"campaign": campaign_pk, "p": position}).scalar_one_or_none()


def campaign_links(session: Session, campaign_pk: int) -> tuple[tuple[int, str], ...]:
    """Every (position, url) of the campaign, by position."""
    _check_campaign_pk(campaign_pk)
    rows = session.execute(_SAVED, {"campaign": campaign_pk}).all()
    return tuple(sorted((int(p), str(u)) for p, u in rows))
