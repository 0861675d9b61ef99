"""Tracking keys (core.tracking.keys): the first made on first use, rotation with a grace
period, the environment's key, and no secret in anything shown."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import text

from core.errors import InvalidInput
from core.tracking import (
    ENV_KEY,
    ENV_KID,
    env_secret,
    key_list,
    load_keyring,
    rotate_key,
    sign,
    verify,
)


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)


def _keys(session) -> int:
    return session.execute(text("SELECT count(*) FROM tracking_keys")).scalar_one()


def test_the_first_key_is_made_once_on_first_use(session):
    assert _keys(session) == 0
    ring = load_keyring(session)
    session.commit()
    again = load_keyring(session)
    assert _keys(session) == 1
    assert again.signing.kid == ring.signing.kid and again.signing.secret == ring.signing.secret
    assert len(ring.signing.secret) == 32 and ring.signing.expires_at is None


def test_rotation_keeps_old_tokens_valid_for_the_grace_period_only(session):
    old_ring = load_keyring(session)
    session.commit()
    token = sign(old_ring, 1, 2)
    rotated = rotate_key(session, timedelta(days=30))
    session.commit()
    ring = load_keyring(session)
    assert ring.signing.kid == rotated.kid != old_ring.signing.kid
    assert rotated.retired == (old_ring.signing.kid,)
    now = session.execute(text("SELECT now()")).scalar_one()
    assert timedelta(days=29) < rotated.old_valid_until - now <= timedelta(days=30)
    assert verify(ring, token, now=now) is not None  # within grace
    assert verify(ring, token, now=rotated.old_valid_until) is None  # expired
    assert verify(ring, sign(ring, 1, 2), now=rotated.old_valid_until) is not None


def test_a_rotation_with_no_grace_retires_the_old_key_at_once(session):
    old_ring = load_keyring(session)
    session.commit()
    token = sign(old_ring, 1, 2)
    rotate_key(session, timedelta(0))
    session.commit()
    ring = load_keyring(session)
    assert old_ring.signing.kid not in ring.verifying
    assert verify(ring, token) is None


def test_a_second_rotation_does_not_extend_an_older_keys_grace(session):
    first = load_keyring(session).signing.kid
    one = rotate_key(session, timedelta(days=1))
    two = rotate_key(session, timedelta(days=10))
    session.commit()
    assert two.retired == (one.kid,)  # the first key keeps its one day
    listed = {k.kid: k for k in key_list(session)}
    assert listed[first].expires_at == one.old_valid_until
    assert listed[one.kid].expires_at == two.old_valid_until
    assert listed[two.kid].signing and listed[two.kid].expires_at is None


@pytest.mark.parametrize("grace", [timedelta(seconds=-1), timedelta(days=4000), 30, "30d"], ids=str)
def test_a_bad_grace_is_refused_and_nothing_written(session, grace):
    with pytest.raises(InvalidInput):
        rotate_key(session, grace)
    session.rollback()
    assert _keys(session) == 0


def test_the_environment_key_signs_and_rotation_is_refused(session, monkeypatch):
    db_ring = load_keyring(session)
    session.commit()
    old_token = sign(db_ring, 3, 4)
    secret = b"e" * 32
    monkeypatch.setenv(ENV_KEY, base64.urlsafe_b64encode(secret).decode().rstrip("="))
    ring = load_keyring(session)
    assert ring.signing.kid == ENV_KID and ring.signing.secret == secret
    assert verify(ring, old_token) is not None  # the database's keys still verify
    with pytest.raises(InvalidInput, match=ENV_KEY) as refused:
        rotate_key(session, timedelta(days=1))
    assert base64.urlsafe_b64encode(secret).decode()[:20] not in str(refused.value)
    session.rollback()
    assert _keys(session) == 1
    listed = key_list(session)
    assert listed[0].from_environment and listed[0].signing
    assert not any(k.signing for k in listed[1:])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ab" * 32, bytes([0xAB]) * 32),
        (base64.urlsafe_b64encode(b"\xfb" * 20).decode(), b"\xfb" * 20),
        (base64.urlsafe_b64encode(b"\xfb" * 20).decode().rstrip("="), b"\xfb" * 20),
        ("", None),
    ],
)
def test_the_environment_key_is_hex_or_base64url(value, expected):
    assert env_secret({ENV_KEY: value}) == expected


@pytest.mark.parametrize("value", ["ab" * 8 + "a", "short", "not base64 at all!", "ab" * 7])
def test_a_bad_environment_key_is_refused_without_quoting_it(value):
    with pytest.raises(InvalidInput) as refused:
        env_secret({ENV_KEY: value})
    assert value not in str(refused.value)
