"""Tracking tokens: who a URL is for, signed, so that nobody can make one up. Pure: no
database; the keys come in a KeyRing (core.tracking.keys).

A token is base64url (no padding) of

    version (1 byte, 1) | kid (u32) | campaign (u32) | recipient (u32) | [link (u16)] | tag

big-endian, where tag = HMAC-SHA256(secret of kid, DOMAIN | the bytes before it)[:16]
(128 bits). A recipient's token (open, unsubscribe) has no link; a click's carries the link's
position. verify() refuses, with None and no detail (no oracle), anything that is not exactly
such a token signed by a key of the ring that had not expired: other lengths, padding,
characters outside base64url, a non-canonical encoding, an unknown or expired kid, a wrong
tag (compared with hmac.compare_digest), a link other than the one asked for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import InvalidInput
from core.tracking.keys import KeyRing

VERSION = 1
DOMAIN = b"campaign-console/tracking-token/v1\x00"
TAG_BYTES = 16
_HEAD = struct.Struct(">BIII")
_LINK = struct.Struct(">H")
_PLAIN = _HEAD.size + TAG_BYTES
_LINKED = _HEAD.size + _LINK.size + TAG_BYTES
MAX_TOKEN_CHARS = 64
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_U32 = 2**32 - 1
_INT4 = 2**31 - 1  # campaigns.id and campaign_recipients.id are INTEGERs
MAX_LINK = 2**16 - 1


@dataclass(frozen=True, slots=True)
class Claim:
    campaign_pk: int
    recipient_id: int
    link: int | None


def _tag(secret: bytes, body: bytes) -> bytes:
    return hmac.digest(secret, DOMAIN + body, "sha256")[:TAG_BYTES]  # one-shot: C, fast


def _check(value: object, what: str, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise InvalidInput(f"{what} must be a whole number from 1 to {top}, not {value!r}.")
    return value


def sign(ring: KeyRing, campaign_pk: int, recipient_id: int, link: int | None = None) -> str:
    """The token for this recipient of this campaign (campaigns.id, campaign_recipients.id),
    for one link position if given; signed with the ring's signing key."""
    _check(campaign_pk, "A campaign's key", _INT4)
    _check(recipient_id, "A recipient id", _INT4)
    key = ring.signing
    body = _HEAD.pack(VERSION, key.kid, campaign_pk, recipient_id)
    if link is not None:
        body += _LINK.pack(_check(link, "A link position", MAX_LINK))
    raw = body + _tag(key.secret, body)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_B64URL = bytes.maketrans(b"+/", b"-_")
_BLOCK = hashlib.sha256().block_size
_LINKED_CHARS = -(-_LINKED * 4 // 3)  # 42: a link's token, unpadded
_PADDED_CHARS = (_LINKED + 2) * 4 // 3  # 44: its bytes padded to 33
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _b64url(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).translate(_B64URL).rstrip(b"=").decode("ascii")


class Signer:
    """sign() for one campaign's recipients, many tokens at a time, the same tokens: HMAC-SHA256
    as RFC 2104 defines it, on hashlib's SHA-256 states, the inner one keyed and fed DOMAIN and
    the token's head up to the recipient once, the outer one keyed once, each copied per token
    (hmac.HMAC.copy() costs about three times as much; tests check every token against
    sign(), which is hmac.digest())."""

    __slots__ = ("_head", "_inner", "_outer", "_tails")

    def __init__(self, ring: KeyRing, campaign_pk: int) -> None:
        _check(campaign_pk, "A campaign's key", _INT4)
        key = ring.signing
        secret = key.secret
        if len(secret) > _BLOCK:
            secret = hashlib.sha256(secret).digest()
        secret = secret.ljust(_BLOCK, b"\x00")
        self._head = _HEAD.pack(VERSION, key.kid, campaign_pk, 1)[:-4]
        self._inner = hashlib.sha256(secret.translate(_IPAD) + DOMAIN + self._head)
        self._outer = hashlib.sha256(secret.translate(_OPAD))
        self._tails: dict[int, bytes] = {}

    def _tag(self, inner: Any) -> bytes:
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:TAG_BYTES]

    def _mine(self, recipient_id: int) -> tuple[bytes, Any]:
        _check(recipient_id, "A recipient id", _INT4)
        rid = recipient_id.to_bytes(4, "big")
        mine = self._inner.copy()
        mine.update(rid)
        return self._head + rid, mine

    def token(self, recipient_id: int) -> str:
        """sign(ring, campaign_pk, recipient_id)."""
        body, mine = self._mine(recipient_id)
        return _b64url(body + self._tag(mine))

    def links(self, recipient_id: int, links: Iterable[int]) -> list[str]:
        """[sign(ring, campaign_pk, recipient_id, link) for link in links]. One base64 for
        them all: each token's bytes (31) padded with two zero bytes to 33, a multiple of 3,
        so each encodes on its own 44 characters, of which its unpadded encoding is the
        first 42 (the bits after the last byte are zero either way)."""
        body, mine = self._mine(recipient_id)
        raw = []
        tails = self._tails
        for link in links:
            tail = tails.get(link)
            if tail is None:
                tail = tails[link] = _LINK.pack(_check(link, "A link position", MAX_LINK))
            inner = mine.copy()
            inner.update(tail)
            raw.append(body + tail + self._tag(inner) + b"\x00\x00")
        if not raw:
            return []
        joined = binascii.b2a_base64(b"".join(raw), newline=False).translate(_B64URL)
        text = joined.decode("ascii")
        return [text[at : at + _LINKED_CHARS] for at in range(0, len(text), _PADDED_CHARS)]


def _decode(token: object) -> bytes | None:
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return None
    if not _ALPHABET.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    # One token, one spelling: unused trailing bits set would decode to the same bytes.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        return None
    return raw


def verify(
    ring: KeyRing, token: str, *, link: int | None = None, now: datetime | None = None
) -> Claim | None:
    """The claim a genuine token makes, or None. `link`: the position the URL names (None for
    open and unsubscribe URLs); a token signed for another link, or for none, is refused."""
    raw = _decode(token)
    if raw is None or len(raw) != (_PLAIN if link is None else _LINKED):
        return None
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    version, kid, campaign_pk, recipient_id = _HEAD.unpack_from(body)
    if version != VERSION:
        return None
    key = ring.key(kid, now or datetime.now(UTC))
    if key is None or not hmac.compare_digest(_tag(key.secret, body), tag):
        return None
    signed_link = _LINK.unpack_from(body, _HEAD.size)[0] if link is not None else None
    if signed_link != link:
        return None
    if not (1 <= campaign_pk <= _INT4 and 1 <= recipient_id <= _INT4):
        return None  # never signed: sign() refuses them
    return Claim(campaign_pk, recipient_id, signed_link)
