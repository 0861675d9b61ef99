"""A message's MIME structure, put together directly: multipart/alternative with a text/plain
and a text/html part, each UTF-8 in quoted-printable, and the boundary a digest of the content
(the same message is the same bytes). Plain ASCII header values are stored as they are
(Message.set_raw); any other value goes through the email package's own header classes,
which encode it (RFC 2047). The email package's set_content() would do the same work several
times slower, and rendering is the sender's hot path."""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Iterable
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr

from core.errors import InvalidInput

POLICY = policy.default
_MAX_RAW = 900  # RFC 5322 allows 998 a line; the policy folds long ones when it writes them


_PART_HEADERS = {
    kind: (
        ("Content-Type", f'text/{kind}; charset="utf-8"'),
        ("Content-Transfer-Encoding", "quoted-printable"),
    )
    for kind in ("plain", "html")
}


def _part(kind: str, content: str) -> EmailMessage:
    part = EmailMessage(policy=POLICY)
    state = vars(part)  # email.message.Message's own attributes
    state["_headers"].extend(_PART_HEADERS[kind])  # what set_raw() does, header by header
    if not content.endswith("\n"):
        content += "\n"
    state["_payload"] = binascii.b2a_qp(content.encode("utf-8"), istext=True).decode("ascii")
    return part  # set_payload() of a str without a charset: that str as the payload


def _plain(value: str) -> bool:
    return value.isascii() and value.isprintable() and len(value) <= _MAX_RAW


def address(name: str, email: str) -> str:
    """`Name <email>` for the To header; InvalidInput for an address a message can't carry."""
    if email.isascii() and name.isascii() and email.isprintable() and "@" in email:
        return formataddr((name, email))
    try:
        return str(Address(display_name=name, addr_spec=email))
    except (ValueError, IndexError):
        raise InvalidInput(f"{email!r} is not an address a message can be sent to.") from None


def assemble(headers: Iterable[tuple[str, str]], plain: str, html: str) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    state = vars(msg)
    raw = state["_headers"]  # set_raw() appends (name, value) here; msg[name] = ... too, parsed
    for name, value in headers:
        if _plain(value):
            raw.append((name, value))
        else:
            msg[name] = value
    digest = hashlib.sha256(f"{plain}\x00{html}".encode()).hexdigest()[:32]
    raw.append(("MIME-Version", "1.0"))
    raw.append(("Content-Type", f'multipart/alternative; boundary="=_cc_{digest}"'))
    state["_payload"] = [_part("plain", plain), _part("html", html)]  # what attach() makes
    return msg
