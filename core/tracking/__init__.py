"""core.tracking: what the tracking endpoint's URLs carry. Signing keys and their rotation
(keys), signed tokens (tokens, pure), the links of a campaign (links), a recipient's URLs
(urls), and the Message-ID and provider metadata that name a recipient (ids)."""

from core.tracking.keys import (
    ENV_KEY,
    ENV_KID,
    KeyInfo,
    KeyRing,
    RotatedKey,
    TrackingKey,
    env_secret,
    key_list,
    load_keyring,
    ring_of,
    rotate_key,
)
from core.tracking.tokens import Claim, sign, verify

__all__ = [
    "ENV_KEY",
    "ENV_KID",
    "Claim",
    "KeyInfo",
    "KeyRing",
    "RotatedKey",
    "TrackingKey",
    "env_secret",
    "key_list",
    "load_keyring",
    "ring_of",
    "rotate_key",
    "sign",
    "verify",
]
