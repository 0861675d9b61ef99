"""A recipient's tracking URLs: the open pixel, the unsubscribe page, and a click URL for each
link of the campaign, all under the endpoint's public URL (settings.public_url, set by
`campaigns serve --public-url`; http://127.0.0.1:8040 until then).

Open and unsubscribe URLs carry the recipient's token; a click URL carries a token signed for
its link's position, and the position in the path must be that one.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.campaigns import campaign_key
from core.errors import InvalidInput, NotFound
from core.tracking.keys import load_keyring
from core.tracking.links import campaign_links
from core.tracking.tokens import sign

TRACK_PREFIX = "/api/v1/campaigns/track"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8040"
PUBLIC_URL_SETTING = "public_url"
MAX_PUBLIC_URL_CHARS = 2000

_GET = text("SELECT value FROM settings WHERE name = :name")
_SET = text(
    "INSERT INTO settings (name, value) VALUES (:name, :value)"
    " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
)
_RECIPIENT = text(
    "SELECT id FROM campaign_recipients WHERE campaign_id = :campaign AND email_address = :email"
    " ORDER BY id LIMIT 2"
)
_RECIPIENT_ANY_CASE = text(
    "SELECT id FROM campaign_recipients WHERE campaign_id = :campaign"
    " AND lower(email_address) = lower(:email) ORDER BY id LIMIT 2"
)


def _base(public_url: str) -> str:
    return public_url.rstrip("/")


def open_url(public_url: str, token: str) -> str:
    return f"{_base(public_url)}{TRACK_PREFIX}/{token}/open"


def click_url(public_url: str, token: str, position: int) -> str:
    return f"{_base(public_url)}{TRACK_PREFIX}/{token}/click/{position}"


def click_urls(public_url: str, tokens: list[str], positions: tuple[int, ...]) -> list[str]:
    """[click_url(public_url, token, position) for each pair], the base worked out once."""
    base = f"{_base(public_url)}{TRACK_PREFIX}/"
    return [f"{base}{t}/click/{n}" for t, n in zip(tokens, positions, strict=True)]


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{_base(public_url)}{TRACK_PREFIX}/{token}/unsubscribe"


@dataclass(frozen=True, slots=True)
class RecipientUrls:
    open: str
    unsubscribe: str
    clicks: tuple[tuple[int, str, str], ...]  # (position, target, tracked url)


def check_public_url(url: object) -> str:
    """An http(s) base URL (a path is fine, behind a reverse proxy), without credentials,
    query or fragment; returned without a trailing slash. InvalidInput otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("The public URL is text like https://track.example.com.")
    url = url.strip()
    if len(url) > MAX_PUBLIC_URL_CHARS or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInput(
            "The public URL has whitespace or control characters in it, or is too long."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise InvalidInput(f"The public URL is not a URL ({exc}).") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"The public URL {url!r} is not an http or https URL with a host "
            "(like https://track.example.com)."
        )
    if "@" in parts.netloc:
        raise InvalidInput("The public URL must not carry a user name or password.")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise InvalidInput(f"The public URL {url!r} can't have a query or fragment.")
    return url.rstrip("/")


def setting(session: Session, name: str) -> str | None:
    """A named value of the settings table (public_url, mail_from, ...), or None."""
    value: str | None = session.execute(_GET, {"name": name}).scalar_one_or_none()
    return value


def save_setting(session: Session, name: str, value: str) -> None:
    """Save a named value (checked by its caller); writes in the caller's transaction."""
    session.execute(_SET, {"name": name, "value": value})


def _saved_public_url(session: Session) -> str:
    return setting(session, PUBLIC_URL_SETTING) or DEFAULT_PUBLIC_URL


def public_url(session: Session) -> str:
    """The base the tracking URLs carry: the saved setting, else DEFAULT_PUBLIC_URL."""
    return _saved_public_url(session)


def set_public_url(session: Session, url: str) -> None:
    """Save the public URL (checked first); writes in the caller's transaction."""
    save_setting(session, PUBLIC_URL_SETTING, check_public_url(url))


def find_recipient_id(session: Session, campaign_pk: int, campaign: str | int, email: str) -> int:
    """The id of the recipient `email` of the campaign (exact spelling first, then any case)."""
    if not isinstance(email, str) or not email or "\x00" in email:
        raise InvalidInput("An email address is text, like jane@example.com.")
    params = {"campaign": campaign_pk, "email": email}
    found = list(session.scalars(_RECIPIENT, params))
    if not found:
        found = list(session.scalars(_RECIPIENT_ANY_CASE, params))
    if not found:
        raise NotFound(f"No recipient {email!r} in campaign {campaign!r}.")
    if len(found) > 1:
        raise InvalidInput(
            f"{email!r} names {len(found)} recipients of campaign {campaign!r} "
            "(spellings that differ only in case); give the exact spelling."
        )
    return found[0]


def recipient_urls(
    session: Session, campaign: str | int, email: str, public_url: str | None = None
) -> RecipientUrls:
    """The open, unsubscribe and click URLs of the recipient `email` of `campaign` (its
    campaign_id or row id). May create the first signing key (core.tracking.keys): commit."""
    base = _saved_public_url(session) if public_url is None else check_public_url(public_url)
    campaign_pk, _ = campaign_key(session, campaign)
    recipient_id = find_recipient_id(session, campaign_pk, campaign, email)
    ring = load_keyring(session)
    token = sign(ring, campaign_pk, recipient_id)
    clicks = tuple(
        (
            position,
            target,
            click_url(base, sign(ring, campaign_pk, recipient_id, position), position),
        )
        for position, target in campaign_links(session, campaign_pk)
    )
    return RecipientUrls(
        open=open_url(base, token), unsubscribe=unsubscribe_url(base, token), clicks=clicks
    )
