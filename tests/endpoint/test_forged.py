"""Forged and tampered tokens against the real server: the pixel (or a 404 page) and nothing
written; an old key still verifies after a rotation, until its grace period ends."""

from __future__ import annotations

import base64
import secrets
import signal
import struct
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from core import tracking
from core.endpoint.pages import PIXEL
from core.tracking import TrackingKey, ring_of
from tests.endpoint.server import make_world, start_server


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def forged(world) -> list[str]:
    """More than 50 tokens that must all be refused as open (and unsubscribe) tokens."""
    rid, other = world.recipients[0], world.recipients[1]
    good = world.token(rid)
    raw = unb64(good)
    out: list[str] = []
    out += [good[:n] for n in (1, 4, 8, 16, 24, 32, len(good) - 2, len(good) - 1)]  # truncated
    for i in range(len(raw)):  # every byte flipped: version, kid, campaign, recipient, tag
        out.append(b64(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]))
    out += [good + "A", good + "AAAA", b64(raw + b"\x00"), b64(raw + raw)]  # longer
    version, kid, campaign, recipient = struct.unpack_from(">BIII", raw)
    tag = raw[13:]
    for fields in (
        (version, kid, campaign, other),  # other recipient, same tag
        (version, kid, recipient, campaign),  # campaign and recipient swapped
        (version, kid + 1, campaign, recipient),  # another key id
        (version, 0, campaign, recipient),  # the environment's key id
        (2, kid, campaign, recipient),  # another version
    ):
        out.append(b64(struct.pack(">BIII", *fields) + tag))
    out.append(b64(raw[:13] + raw[:16]))  # tag replaced by other bytes of the token
    out.append(b64(raw[:13] + bytes(16)))  # zero tag
    wrong_key = ring_of(TrackingKey(kid, secrets.token_bytes(32), None))
    out += [tracking.sign(wrong_key, world.campaign_pk, r) for r in world.recipients[:3]]
    out.append(tracking.sign(world.ring, world.campaign_pk, rid, world.positions[0]))  # a link's
    out += [good + "=", good.replace("-", "+").replace("_", "/"), "A" * 80, "x", "ßß", "%00"]
    out.append(good[::-1])
    # (the +/ spelling equals the good token when it has no - or _: left out then)
    return sorted(set(out) - {good})


def event_count(db) -> int:
    with db.reading() as session:
        return session.scalar(text("SELECT count(*) FROM email_tracking"))


def refused(client) -> int:
    body = client.get("/metrics").text
    return sum(
        int(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("cc_endpoint_refused_tokens_total{")
    )


def test_forged_and_tampered_tokens_get_the_pixel_and_write_nothing(client, module_db, world):
    tokens = forged(world)
    assert len(set(tokens)) >= 50
    before, refused_before = event_count(module_db), refused(client)
    for token in tokens:
        r = client.get(f"{tracking.TRACK_PREFIX}/{token}/open")
        if r.status_code == 404:  # not even a path segment (e.g. "%00"): the router's 404
            continue
        assert (r.status_code, r.content) == (200, PIXEL), token
    for token in tokens[::5]:
        r = client.post(
            f"{tracking.TRACK_PREFIX}/{token}/unsubscribe", content=b"List-Unsubscribe=One-Click"
        )
        assert r.status_code == 404, token
        # (positions[1]: one of the tokens is signed for positions[0], a real click there)
        r = client.get(f"{tracking.TRACK_PREFIX}/{token}/click/{world.positions[1]}")
        assert r.status_code == 404 and "location" not in r.headers, token
    assert event_count(module_db) == before
    assert refused(client) - refused_before >= len(tokens)
    # The good token still works after all that.
    assert client.get(world.open_path(world.recipients[0])).content == PIXEL
    assert event_count(module_db) == before + 1


@pytest.mark.slow
def test_an_old_key_verifies_through_its_grace_period_after_a_rotation(db, db_url, tmp_path):
    world = make_world(db, 3)
    old_token_path = world.open_path(world.recipients[0])
    server = start_server(db_url, tmp_path / "spool", "--keyring-refresh", "0.2")
    try:
        rotated = db.run(lambda s: tracking.rotate_key(s, timedelta(hours=1)))
        new_ring = db.run(tracking.load_keyring)
        assert new_ring.signing.kid == rotated.kid != world.ring.signing.kid
        new_path = signed_open(new_ring, world, world.recipients[1])
        with httpx.Client(base_url=server.url, timeout=10) as client:
            wait_until_recorded(db, client, new_path, world.recipients[1])  # the new key
            client.get(old_token_path)  # the old one, in its grace period
            assert opens(db, world.recipients[0]) == 1
            db.run(lambda s: tracking.rotate_key(s, timedelta(0)))  # every old key retired now
            newest = db.run(tracking.load_keyring)
            path = signed_open(newest, world, world.recipients[2])
            wait_until_recorded(db, client, path, world.recipients[2])  # the ring was re-read
            assert client.get(old_token_path).content == PIXEL
            assert client.get(new_path).content == PIXEL
        assert opens(db, world.recipients[0]) == 1  # refused now
        assert opens(db, world.recipients[1]) == 1
    finally:
        assert server.stop(signal.SIGINT) == 0, server.stderr()  # as ctrl+c


def signed_open(ring, world, rid: int) -> str:
    return f"{tracking.TRACK_PREFIX}/{tracking.sign(ring, world.campaign_pk, rid)}/open"


def opens(db, rid: int) -> int:
    with db.reading() as session:
        return session.scalar(
            text("SELECT count(*) FROM email_tracking WHERE campaign_recipient_id = :r"),
            {"r": rid},
        )


def wait_until_recorded(db, client, path: str, rid: int, timeout: float = 15) -> None:
    """GET the open until the server knows the key (it re-reads the ring on a timer)."""
    deadline = time.monotonic() + timeout
    while opens(db, rid) == 0:
        assert time.monotonic() < deadline, "the server never took the new key"
        assert client.get(path).content == PIXEL
        time.sleep(0.1)
