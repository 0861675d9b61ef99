"""What the provider webhooks need to verify a request: keys and secrets from the environment.

A provider whose secret is not set answers 404 "not configured" (SES/SNS needs no secret: its
messages carry their own certificate URL, checked to be an SNS host). Secrets never appear in
a repr, a log line or a response.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from core.errors import InvalidInput

ENV_SES_TOPIC_ARNS = "CAMPAIGN_CONSOLE_SES_TOPIC_ARNS"  # optional: comma-separated allow-list
ENV_SENDGRID_PUBLIC_KEY = "CAMPAIGN_CONSOLE_SENDGRID_PUBLIC_KEY"  # base64 DER (as SendGrid shows)
ENV_MAILGUN_SIGNING_KEY = "CAMPAIGN_CONSOLE_MAILGUN_SIGNING_KEY"
ENV_POSTMARK_AUTH = "CAMPAIGN_CONSOLE_POSTMARK_AUTH"  # user:password of the webhook URL

MAX_AGE_SECONDS = 300.0  # SendGrid's and Mailgun's signed timestamps, either way of now
MAX_CERTIFICATE_BYTES = 64 * 1024
CERTIFICATE_TIMEOUT = 10.0  # seconds for fetching an SNS signing certificate


def fetch_https(url: str) -> bytes:
    """The body of an https URL (an SNS signing certificate); the caller checked the host."""
    if not url.startswith("https://"):
        raise ValueError("only https URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": "campaign-console"})
    with urllib.request.urlopen(request, timeout=CERTIFICATE_TIMEOUT) as response:
        body: bytes = response.read(MAX_CERTIFICATE_BYTES + 1)
    if len(body) > MAX_CERTIFICATE_BYTES:
        raise ValueError(f"the certificate is larger than {MAX_CERTIFICATE_BYTES:,} bytes")
    return body


@dataclass(frozen=True)
class WebhookConfig:
    """The webhooks' settings. `fetch_certificate` (url -> PEM bytes) and `confirm_subscription`
    (called with an SNS SubscribeURL; None: the URL is only logged) are injectable, so tests
    sign with a certificate of their own and nothing reaches outward unless asked to."""

    ses_topic_arns: frozenset[str] | None = None  # None: any topic
    sendgrid_public_key: ec.EllipticCurvePublicKey | None = field(default=None, repr=False)
    mailgun_signing_key: bytes | None = field(default=None, repr=False)
    postmark_auth: bytes | None = field(default=None, repr=False)  # b"user:password"
    max_age_seconds: float = MAX_AGE_SECONDS
    fetch_certificate: Callable[[str], bytes] = field(default=fetch_https, repr=False)
    confirm_subscription: Callable[[str], None] | None = field(default=None, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    @property
    def configured(self) -> dict[str, bool]:
        """Which providers answer (for a startup line; says nothing of the secrets)."""
        return {
            "ses": True,
            "sendgrid": self.sendgrid_public_key is not None,
            "mailgun": self.mailgun_signing_key is not None,
            "postmark": self.postmark_auth is not None,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookConfig:
        """The settings from the environment; InvalidInput names a variable that is set but
        unusable (never its value)."""
        env = os.environ if environ is None else environ
        arns = _text(env, ENV_SES_TOPIC_ARNS)
        topics = None
        if arns is not None:
            topics = frozenset(a.strip() for a in arns.split(",") if a.strip()) or None
        key = _text(env, ENV_SENDGRID_PUBLIC_KEY)
        signing = _text(env, ENV_MAILGUN_SIGNING_KEY)
        auth = _text(env, ENV_POSTMARK_AUTH)
        if auth is not None and (":" not in auth or auth.startswith(":")):
            raise InvalidInput(
                f"{ENV_POSTMARK_AUTH} must be user:password (the credentials of the webhook "
                "URL set in Postmark)."
            )
        return cls(
            ses_topic_arns=topics,
            sendgrid_public_key=None if key is None else sendgrid_key(key),
            mailgun_signing_key=None if signing is None else signing.encode(),
            postmark_auth=None if auth is None else auth.encode(),
        )


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def sendgrid_key(text: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's verification key: base64 DER as its settings page shows it (a PEM block is
    taken too). InvalidInput if it is not an ECDSA P-256 public key."""
    problem = f"{ENV_SENDGRID_PUBLIC_KEY} is not an ECDSA P-256 public key"
    try:
        if text.startswith("-----BEGIN"):
            key = load_pem_public_key(text.encode())
        else:
            key = load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise InvalidInput(
            f"{problem} (expected base64 DER, as in SendGrid's Mail Settings)."
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidInput(f"{problem} (it is another kind of key).")
    return key
