"""The keys tracking tokens are signed with (core.tracking.tokens), and their rotation.

Keys live in tracking_keys (migration 0010); the first is created on first use. The newest
key without expires_at signs; every key verifies until its expires_at, so a rotation keeps
the tokens already sent valid for a grace period. CAMPAIGN_CONSOLE_TRACKING_KEY (base64url
or hex, at least 16 bytes) overrides: it signs as key id 0, and the database's keys that have
not expired still verify. A secret is never shown: TrackingKey keeps it out of its repr, and
reads for people (key_list) carry none.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.store import MIN_SECRET_BYTES

ENV_KEY = "CAMPAIGN_CONSOLE_TRACKING_KEY"
ENV_KID = 0  # the key id of the environment's key (database key ids start at 1)
SECRET_BYTES = 32
MAX_GRACE = timedelta(days=3650)
# "CCTR": one key writer at a time. Decimal in the SQL: PostgreSQL 15 reads no hex literals.
_LOCK = text(f"SELECT pg_advisory_xact_lock({0x43435452})")
_HEX = re.compile(r"[0-9a-fA-F]+")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")

_LIVE = text(
    "SELECT id, secret, expires_at FROM tracking_keys"
    " WHERE expires_at IS NULL OR expires_at > now() ORDER BY id"
)
_NEW = text("INSERT INTO tracking_keys (secret) VALUES (:secret) RETURNING id, created_at")


@dataclass(frozen=True, slots=True)
class TrackingKey:
    kid: int
    secret: bytes = field(repr=False)
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The key that signs, and every key that verifies (the signing one too) by key id."""

    signing: TrackingKey
    verifying: Mapping[int, TrackingKey]

    def key(self, kid: int, now: datetime) -> TrackingKey | None:
        """The key with this id, or None if unknown or expired at `now`."""
        found = self.verifying.get(kid)
        if found is None or (found.expires_at is not None and now >= found.expires_at):
            return None
        return found


def ring_of(signing: TrackingKey, others: tuple[TrackingKey, ...] = ()) -> KeyRing:
    """A ring of these keys (the signing key verifies too)."""
    by_kid = {k.kid: k for k in others}
    by_kid[signing.kid] = signing
    return KeyRing(signing=signing, verifying=MappingProxyType(by_kid))


@dataclass(frozen=True, slots=True)
class RotatedKey:
    kid: int  # the new signing key
    created_at: datetime
    old_valid_until: datetime  # when the keys before it stop verifying
    retired: tuple[int, ...]  # their key ids


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as a person sees it: no secret."""

    kid: int
    created_at: datetime | None  # None for the environment's key
    expires_at: datetime | None
    signing: bool
    from_environment: bool = False


def env_secret(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The secret CAMPAIGN_CONSOLE_TRACKING_KEY gives, or None when it is unset or empty.
    Raises InvalidInput (never quoting the value) when it is not hex or base64url of at
    least 16 bytes."""
    value = (os.environ if environ is None else environ).get(ENV_KEY, "").strip()
    if not value:
        return None
    secret: bytes | None = None
    if _HEX.fullmatch(value) and len(value) % 2 == 0:
        secret = bytes.fromhex(value)
    elif _B64URL.fullmatch(value):
        try:
            secret = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            secret = None
    if secret is None:
        raise InvalidInput(
            f"{ENV_KEY} is neither hex nor base64url; make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    if len(secret) < MIN_SECRET_BYTES:
        raise InvalidInput(
            f"{ENV_KEY} holds {len(secret)} bytes; a tracking key needs at least "
            f"{MIN_SECRET_BYTES} (32 random bytes are best)."
        )
    return secret


def _stored(session: Session) -> tuple[TrackingKey, ...]:
    return tuple(
        TrackingKey(kid, bytes(secret), expires_at)
        for kid, secret, expires_at in session.execute(_LIVE)
    )


def load_keyring(session: Session) -> KeyRing:
    """The keys to sign and verify with. Without the environment's key and with no key in the
    database that can sign, creates one (written in the caller's transaction: commit it)."""
    env = env_secret()
    stored = _stored(session)
    if env is not None:
        return ring_of(TrackingKey(ENV_KID, env, None), stored)
    signers = [k for k in stored if k.expires_at is None]
    if not signers:
        session.execute(_LOCK)
        stored = _stored(session)  # another process may have made one meanwhile
        signers = [k for k in stored if k.expires_at is None]
        if not signers:
            secret = secrets.token_bytes(SECRET_BYTES)
            kid = session.execute(_NEW, {"secret": secret}).one()[0]
            signers = [TrackingKey(kid, secret, None)]
            stored = (*stored, signers[0])
    return ring_of(max(signers, key=lambda k: k.kid), stored)


def check_grace(grace: timedelta) -> timedelta:
    if not isinstance(grace, timedelta):
        raise InvalidInput(f"The grace period is a duration, not {grace!r}.")
    if grace < timedelta(0):
        raise InvalidInput("The grace period can't be negative (0 retires the old keys now).")
    if grace > MAX_GRACE:
        raise InvalidInput(f"The grace period is at most {MAX_GRACE.days} days.")
    return grace


def refuse_with_env_key(environ: Mapping[str, str] | None = None) -> None:
    if (os.environ if environ is None else environ).get(ENV_KEY, "").strip():
        raise InvalidInput(
            f"{ENV_KEY} is set, so that key signs and a key made in the database would never "
            f"be used: rotate by changing {ENV_KEY} (or unset it to use the database's keys)."
        )


def rotate_key(session: Session, grace: timedelta) -> RotatedKey:
    """Add a new signing key; the keys before it verify until now + grace (one that expires
    sooner keeps its time). Refused while CAMPAIGN_CONSOLE_TRACKING_KEY is set. Writes in the
    caller's transaction."""
    refuse_with_env_key()
    check_grace(grace)
    session.execute(_LOCK)
    until = session.execute(
        text("SELECT now() + CAST(:grace AS interval)"), {"grace": grace}
    ).scalar_one()
    retired = tuple(
        session.scalars(
            text(
                "UPDATE tracking_keys SET expires_at = :until"
                " WHERE expires_at IS NULL OR expires_at > :until RETURNING id"
            ),
            {"until": until},
        )
    )
    kid, created_at = session.execute(_NEW, {"secret": secrets.token_bytes(SECRET_BYTES)}).one()
    return RotatedKey(
        kid=kid, created_at=created_at, old_valid_until=until, retired=tuple(sorted(retired))
    )


def key_list(session: Session) -> tuple[KeyInfo, ...]:
    """Every key, newest first, without secrets; the environment's first when it is set."""
    env = env_secret()
    rows = session.execute(
        text(
            "SELECT id, created_at, expires_at, expires_at IS NULL AS open FROM tracking_keys"
            " ORDER BY id DESC"
        )
    ).all()
    signing_kid = ENV_KID if env is not None else next((r.id for r in rows if r.open), None)
    keys = [KeyInfo(r.id, r.created_at, r.expires_at, r.id == signing_kid) for r in rows]
    if env is not None:
        keys.insert(0, KeyInfo(ENV_KID, None, None, True, from_environment=True))
    return tuple(keys)
