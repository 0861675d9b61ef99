"""Amazon SNS message signatures (what SES notifications arrive in), as AWS documents them.

The string to sign is "Key\\nValue\\n" for each signed key in byte order of the names:
Message, MessageId, Subject (when present), Timestamp, TopicArn, Type for a Notification;
Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type for a
SubscriptionConfirmation or UnsubscribeConfirmation. SignatureVersion 1 signs it with
SHA1withRSA, version 2 with SHA256withRSA, by the key of the X.509 certificate at
SigningCertURL, which must be an https URL on an SNS host (sns.<region>.amazonaws.com, or
.amazonaws.com.cn): a certificate from anywhere else would let anyone sign. Certificates are
fetched by an injectable callable and kept (by URL) while they are valid.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.endpoint.webhooks.common import Refusal

NOTIFICATION = "Notification"
SUBSCRIBE = "SubscriptionConfirmation"
UNSUBSCRIBE = "UnsubscribeConfirmation"
_CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SIGNED_KEYS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIBE: _CONFIRMATION_KEYS,
    UNSUBSCRIBE: _CONFIRMATION_KEYS,
}
OPTIONAL_KEYS = frozenset({"Subject"})
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
CERT_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
TYPE_HEADER = "x-amz-sns-message-type"
MAX_CACHED = 32


def canonical(message: Mapping[str, Any]) -> bytes:
    """The bytes SNS signed for this message; 400 when a signed key is missing."""
    kind = message.get("Type")
    keys = SIGNED_KEYS.get(kind) if isinstance(kind, str) else None
    if keys is None:
        raise Refusal(
            400,
            f"Not an SNS message: Type is {kind!r} (expected one of {', '.join(SIGNED_KEYS)}).",
        )
    parts: list[str] = []
    for key in keys:
        value = message.get(key)
        if value is None and key in OPTIONAL_KEYS:
            continue
        if not isinstance(value, str):
            raise Refusal(400, f"The SNS {kind} has no {key} (a text field it must carry).")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode()


def check_certificate_url(url: Any) -> str:
    """`url` if it is an https URL of an SNS host; 403 otherwise."""
    if not isinstance(url, str) or not url:
        raise Refusal(403, "The SNS message has no SigningCertURL.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refusal(403, "The SNS SigningCertURL is not a URL.") from None
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or parts.username is not None
        or parts.password is not None
        or port not in (None, 443)
        or not CERT_HOST.fullmatch(host)
        or not parts.path.endswith(".pem")
    ):
        raise Refusal(
            403,
            "The SNS SigningCertURL is not an https URL of a certificate on an SNS host "
            "(sns.<region>.amazonaws.com): refused.",
        )
    return url


class Certificates:
    """Signing keys by certificate URL: fetched once by `fetch` (url -> PEM bytes), kept while
    the certificate is valid (at most MAX_CACHED). Thread-safe (fetches run in threads)."""

    def __init__(self, fetch: Callable[[str], bytes], clock: Callable[[], float]):
        self._fetch, self._clock = fetch, clock
        self._keys: OrderedDict[str, tuple[rsa.RSAPublicKey, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, url: str) -> rsa.RSAPublicKey:
        now = datetime.fromtimestamp(self._clock(), UTC)
        with self._lock:
            cached = self._keys.get(url)
            if cached is not None and cached[1] > now:
                self._keys.move_to_end(url)
                return cached[0]
        try:
            pem = self._fetch(url)
        except Exception as exc:  # any failure to fetch: the message can't be verified now
            raise Refusal(
                503, f"Could not fetch the SNS signing certificate ({type(exc).__name__})."
            ) from None
        key, until = _public_key(pem, now)
        with self._lock:
            self._keys[url] = (key, until)
            while len(self._keys) > MAX_CACHED:
                self._keys.popitem(last=False)
        return key


def _public_key(pem: bytes, now: datetime) -> tuple[rsa.RSAPublicKey, datetime]:
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise Refusal(403, "The SNS signing certificate is not a PEM X.509 certificate.") from None
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise Refusal(403, "The SNS signing certificate is not valid at this time.")
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refusal(403, "The SNS signing certificate does not hold an RSA key.")
    return key, cert.not_valid_after_utc


def verify(
    message: Mapping[str, Any],
    key_for: Callable[[str], rsa.RSAPublicKey],
    topics: frozenset[str] | None = None,
) -> None:
    """Refusal unless `message` is signed by the SNS certificate it names (and, with
    `topics`, comes from one of those topic ARNs). Blocking: the key may be fetched."""
    signed = canonical(message)
    topic = message.get("TopicArn")
    if topics is not None and topic not in topics:
        raise Refusal(403, f"The SNS topic {topic!r} is not one this endpoint accepts.")
    version = message.get("SignatureVersion")
    algorithm = HASHES.get(version) if isinstance(version, str) else None
    if algorithm is None:
        raise Refusal(403, f"SNS SignatureVersion {version!r} is not supported (1 or 2 are).")
    url = check_certificate_url(message.get("SigningCertURL"))
    raw = message.get("Signature")
    try:
        signature = base64.b64decode(raw if isinstance(raw, str) else "", validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not signature:
        raise Refusal(403, "The SNS message has no readable Signature.")
    try:
        key_for(url).verify(signature, signed, padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise Refusal(
            403, "The SNS signature does not match the message: refused, nothing recorded."
        ) from None


def check_type_header(message: Mapping[str, Any], header: str | None) -> None:
    """SNS names the message's type in a header too; 400 when the two disagree."""
    if header is not None and header != message.get("Type"):
        raise Refusal(400, f"The {TYPE_HEADER} header says {header!r}, the body another Type.")
