"""Every message byte for byte as it was: a corpus of templates (skeleton and full path, own
text body or not, long and non-ASCII subjects, a base URL with characters HTML escapes) and
recipients (markup, quotes, non-ASCII, empty names) built with a fixed key and fixed link
positions, no database. Each message's digest (its bytes, header values and parts, and the
same of it parsed back) is compared with the one in data/message_digests.json, made by the
code before the rendering was made faster (main at 5884b3d); `CC_WRITE_DIGESTS=1` writes the
file again, on purpose only."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from core.demo.templates import demo_html
from core.messages import CampaignMail, Recipient, links
from core.messages.sandbox import HTML_ENV
from core.messages.templates import TemplateRow
from core.tracking.keys import TrackingKey, ring_of
from core.tracking.tokens import sign
from tests.messages.test_compose import FAST_CASES, HTML

DIGESTS = Path(__file__).parent / "data" / "message_digests.json"
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
RING = ring_of(TrackingKey(kid=3, secret=bytes(range(32)), expires_at=None))
LINKS = ("https://www.example.com/a?utm_source=x&utm_medium=email", "https://b.example/p q")
BODIES = {
    **{f"fast{i}": b for i, b in enumerate(FAST_CASES)},
    "compose": HTML,
    "demo": demo_html("Q4 Product Launch", LINKS),
    "filter": "<p>{{ name|upper }} {{ company|title }}</p><a href='https://f.example/'>f</a>",
    "per-link": '<a href="https://x.example/?e={{ email }}">x</a><p>{{ name }}</p>',
    "no-body-tag": "<p>Bare {{ name }}</p><a href=https://bare.example/>b</a>",
    "non-ascii": "<p>Grüße, {{ name }} — ✓ {{ company }}</p>"
    "<a href='https://ü.example/straße?q=ä'>ü</a>",
    "long-line": "<p>" + "word {{ name }} " * 120 + "</p>",
}
SUBJECTS = {
    "plain": "News for {{ name or 'you' }}",
    "long": "A very long subject line for {{ name }} " * 4,
    "utf8": "Grüße an {{ name }} von {{ company }} ✓",
    "empty": "",
}
ODD_BASE = "https://t.example.net/x?a=1&b='2'/"
TEXT_BODY = "Hello {{ name }},\n\nsee {{ unsubscribe_url }}\nGrüße\n"
PEOPLE = (
    Recipient(1, "lead1@example.com", "Lead 1", "Acme"),
    Recipient(22, "o'brien@example.org", "Zoë \"<b>\" & 'x'", "A&amp;B <i>"),
    Recipient(333, "x@example.net", "", ""),
    Recipient(4444, "comma@example.com", "Smith, John", "Müller\nGmbH\t& Co"),
    Recipient(2**31 - 1, "long@example.com", "N" * 90, "C " * 60),
)


def _mail(
    body: str, subject: str, text_body: str | None, fast: bool, base: str = "https://t.example.net/"
) -> CampaignMail:
    row = TemplateRow(7, "Corpus", subject, body, text_body, T0, T0)
    mail = CampaignMail(
        campaign_pk=99,
        campaign_id="camp_corpus",
        campaign_name="Spring <Launch> & Co",
        template=row,
        ring=RING,
        base_url=base,
        from_address="Acme News <news@mail.acme.test>",
        domain="mail.acme.test",
    )
    mail.fast = mail.fast and fast
    compiled = HTML_ENV.from_string(body)
    for r in PEOPLE:  # every link's position known: no database needed
        token = sign(RING, 99, r.id)
        values = dict(mail.fields(r, token))
        for url in links(compiled.render(values)):
            mail.positions.setdefault(url, len(mail.positions) + 1)
    return mail


def _cases() -> list[tuple[str, str, str, str | None, bool, str]]:
    out = []
    for bname in ("compose", "fast1"):  # a base URL that html.escape() changes
        for fast in (True, False):
            key = f"{bname}/odd-base/{'fast' if fast else 'full'}"
            out.append((key, BODIES[bname], SUBJECTS["plain"], None, fast, ODD_BASE))
    for bname, body in BODIES.items():
        for sname, subject in SUBJECTS.items():
            for own_text in (False, True):
                for fast in (True, False):
                    key = f"{bname}/{sname}/{'text' if own_text else 'made'}/"
                    key += "fast" if fast else "full"
                    text = TEXT_BODY if own_text else None
                    out.append((key, body, subject, text, fast, "https://t.example.net/"))
    return out


def _digests() -> dict[str, str]:
    found: dict[str, str] = {}
    for key, body, subject, text_body, fast, base in _cases():
        mail = _mail(body, subject, text_body, fast, base)
        for i, r in enumerate(PEOPLE):
            msg = mail.message(None, r, date=T0 if i % 2 else None)  # type: ignore[arg-type]
            raw = msg.as_bytes()
            back = message_from_bytes(raw, policy=policy.default)
            seen = [raw, back.as_bytes()]
            for m in (msg, back):
                seen.append(repr([(k, str(v)) for k, v in m.items()]).encode())
                seen.extend(p.get_content().encode() for p in m.iter_parts())
            found[f"{key}/{r.id}"] = hashlib.sha256(b"\x00".join(seen)).hexdigest()
    return found


def test_messages_byte_identical_to_the_recorded_ones():
    found = _digests()
    if os.environ.get("CC_WRITE_DIGESTS") == "1":
        DIGESTS.write_text(json.dumps(found, indent=0, sort_keys=True) + "\n")
    recorded = json.loads(DIGESTS.read_text())
    assert len(found) == len(recorded) == len(_cases()) * len(PEOPLE)
    changed = [k for k in found if found[k] != recorded.get(k)]
    assert not changed, f"{len(changed)} messages changed, e.g. {changed[:5]}"


def test_corpus_takes_both_paths():
    fast = _mail(BODIES["demo"], SUBJECTS["plain"], None, True)
    fast.message(None, PEOPLE[0])  # type: ignore[arg-type]
    assert fast.fast and next(iter(fast.skeletons.values())) is not None
    assert not _mail(BODIES["filter"], SUBJECTS["plain"], None, True).fast
