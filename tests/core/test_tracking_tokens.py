"""Tracking tokens (core.tracking.tokens): a genuine token round-trips; every forged, tampered,
truncated or re-spelt variant is refused. Pure: no database anywhere in this file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import InvalidInput
from core.tracking import Claim, TrackingKey, ring_of, sign, tokens, verify
from core.tracking.tokens import DOMAIN, TAG_BYTES

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = TrackingKey(7, bytes(range(32)), None)
RING = ring_of(KEY)
OTHER = ring_of(TrackingKey(7, bytes(range(1, 33)), None))  # same kid, other secret


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _enc(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signed(body: bytes, secret: bytes = KEY.secret) -> str:
    return _enc(body + hmac.new(secret, DOMAIN + body, hashlib.sha256).digest()[:TAG_BYTES])


def test_round_trip_with_and_without_a_link():
    token = sign(RING, 12, 3456)
    assert verify(RING, token, now=NOW) == Claim(12, 3456, None)
    click = sign(RING, 12, 3456, link=3)
    assert verify(RING, click, link=3, now=NOW) == Claim(12, 3456, 3)
    assert verify(RING, sign(RING, 2**31 - 1, 2**31 - 1, 65535), link=65535) == Claim(
        2**31 - 1, 2**31 - 1, 65535
    )
    assert len(_raw(token)) == 13 + 16 and len(_raw(click)) == 15 + 16
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_sign_refuses_values_a_token_cannot_carry():
    for bad in (0, -1, 2**31, True, "1", None):
        with pytest.raises(InvalidInput):
            sign(RING, bad, 1)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            sign(RING, 1, bad)  # type: ignore[arg-type]
    for bad in (0, 65536, -3, True):
        with pytest.raises(InvalidInput):
            sign(RING, 1, 1, link=bad)


def _variants() -> list[tuple[str, str, int | None]]:
    """(what, token, link asked for): each must be refused."""
    token = sign(RING, 12, 3456)
    click = sign(RING, 12, 3456, link=3)
    raw, craw = _raw(token), _raw(click)
    out: list[tuple[str, str, int | None]] = []
    for n in range(len(token)):
        out.append((f"truncated to {n}", token[:n], None))
    for n in range(len(click)):
        out.append((f"click truncated to {n}", click[:n], 3))
    for i in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[i] ^= 1 << bit
            out.append((f"bit {bit} of byte {i} flipped", _enc(bytes(flipped)), None))
    for i in range(len(craw)):
        flipped = bytearray(craw)
        flipped[i] ^= 0x80
        out.append((f"click byte {i} flipped", _enc(bytes(flipped)), 3))
    head, tag = raw[:13], raw[13:]
    version, kid, campaign, recipient = struct.unpack(">BIII", head)
    for what, fields in {
        "other recipient": (version, kid, campaign, recipient + 1),
        "other campaign": (version, kid, campaign + 1, recipient),
        "other kid": (version, kid + 1, campaign, recipient),
        "other version": (2, kid, campaign, recipient),
        "campaign and recipient swapped": (version, kid, recipient, campaign),
    }.items():
        out.append((what, _enc(struct.pack(">BIII", *fields) + tag), None))
    other_tag = _raw(sign(RING, 12, 3457))[13:]
    out.append(("another token's tag", _enc(head + other_tag), None))
    out.append(("tag before body", _enc(tag + head), None))
    out.append(("other link, same tag", _enc(craw[:13] + struct.pack(">H", 4) + craw[15:]), 3))
    out.append(("other link asked", click, 4))
    out.append(("click token as a recipient token", click, None))
    out.append(("recipient token as a click", token, 3))
    out.append(("recipient token with a link appended", _enc(head + b"\x00\x03" + tag), 3))
    out.append(("wrong key", sign(OTHER, 12, 3456), None))
    out.append(("unknown kid, right secret", _signed(struct.pack(">BIII", 1, 99, 12, 3456)), None))
    out.append(("zero recipient, signed", _signed(struct.pack(">BIII", 1, 7, 12, 0)), None))
    out.append(("no tag", _enc(head), None))
    out.append(("short tag", _enc(head + tag[:8]), None))
    out.append(("long tag", _enc(raw + b"\x00"), None))
    out.append(("padding =", token + "=", None))
    out.append(("padding ==", token + "==", None))
    out.append(("padded click", click + "==", 3))
    out.append(("standard base64 +/", token.replace("-", "+").replace("_", "/") + "+/", None))
    for bad in ("!", " ", "\n", "é", ".", "%2F", "\x00"):
        out.append((f"{bad!r} inside", token[:10] + bad + token[11:], None))
        out.append((f"{bad!r} appended", token + bad, None))
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = [c for c in alphabet if c != last and _raw(token[:-1] + c) == raw]
    for c in same_bytes:
        out.append((f"non-canonical last character {c!r}", token[:-1] + c, None))
    out.append(("upper-cased", token.upper(), None))
    out.append(("lower-cased", token.lower(), None))
    out.append(("reversed", token[::-1], None))
    out.append(("doubled", token + token, None))
    out.append(("empty", "", None))
    out.append(("huge", "A" * 100_000, None))
    out.append(("huge valid-looking", _enc(raw * 100), None))
    out.append(("the spec's integer id", "3456", None))
    return [(w, t, link) for w, t, link in out if t != token or link is not None]


VARIANTS = _variants()


def test_there_are_hundreds_of_variants():
    assert len(VARIANTS) >= 50
    assert len({(t, link) for _, t, link in VARIANTS}) >= 300


@pytest.mark.parametrize(("what", "token", "link"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_a_forged_or_tampered_token_is_refused(what, token, link):
    assert verify(RING, token, link=link, now=NOW) is None, what


def test_things_that_are_not_strings_are_refused():
    for thing in (None, 12, b"abc", ["x"], object()):
        assert verify(RING, thing, now=NOW) is None  # type: ignore[arg-type]


def test_an_expired_key_is_refused_and_a_live_old_key_accepted():
    old = TrackingKey(1, b"o" * 32, NOW + timedelta(days=30))
    new = TrackingKey(2, b"n" * 32, None)
    token = sign(ring_of(TrackingKey(1, b"o" * 32, None)), 5, 6)
    ring = ring_of(new, (old,))
    assert verify(ring, token, now=NOW) == Claim(5, 6, None)
    assert verify(ring, token, now=NOW + timedelta(days=30) - timedelta(seconds=1)) is not None
    assert verify(ring, token, now=NOW + timedelta(days=30)) is None
    assert verify(ring_of(new), token, now=NOW) is None  # a ring without it
    assert verify(ring, sign(ring, 5, 6), now=NOW + timedelta(days=365)) == Claim(5, 6, None)


def test_the_key_repr_shows_no_secret():
    key = TrackingKey(3, b"\x01secretsecretsecretsecret", None)
    assert "secret" not in repr(key).replace("TrackingKey", "")
    assert "\\x01" not in repr(key) and "\\x01" not in repr(ring_of(key))


@pytest.mark.parametrize("secret", [b"k", bytes(range(32)), bytes(64), bytes(range(100))])
def test_signer_gives_the_tokens_sign_gives(secret):
    """Signer (one campaign, many tokens, RFC 2104 on hashlib states) and sign() (hmac.digest)
    give the same tokens, for keys shorter than, as long as and longer than SHA-256's block."""
    ring = ring_of(TrackingKey(2**32 - 1, secret, None))
    for campaign, rid in ((1, 1), (12, 3456), (2**31 - 1, 2**31 - 1), (255, 256)):
        signer = tokens.Signer(ring, campaign)
        links = signer.links(rid, [1, 2, 300, 1, tokens.MAX_LINK])
        assert signer.token(rid) == sign(ring, campaign, rid)
        assert links == [sign(ring, campaign, rid, n) for n in (1, 2, 300, 1, tokens.MAX_LINK)]
        assert verify(ring, links[2], link=300, now=NOW) == Claim(campaign, rid, 300)
    with pytest.raises(InvalidInput):
        tokens.Signer(ring, 0)
    with pytest.raises(InvalidInput):
        tokens.Signer(ring, 1).token(2**31)
    with pytest.raises(InvalidInput):
        tokens.Signer(ring, 1).links(1, [0])
