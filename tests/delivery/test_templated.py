"""The whole loop with the real parts: a campaign's template rendered by core.messages (the
sender's default message source), sent to a real SMTP server, and the links and pixel of a
received message followed through a real `campaigns serve`: the open and the click are stored
for that recipient, and the messages are what the templates issue promises."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from html.parser import HTMLParser

import httpx
from sqlalchemy import text

from core import tracking
from core.delivery import Sender, parse_relay
from core.messages import MessageBuilder, add_template, set_mail_from
from core.tracking.ids import message_id, parse_bounce_address
from tests.core.test_counters import assert_counters_match
from tests.delivery.data import FAST, recipients, running_campaign
from tests.delivery.relay import Behaviour, LoopbackRelay
from tests.endpoint.server import start_server

LINKS = (
    "https://example.com/spring?utm_source=mail&a=1&b=%5B2%5D#top",
    "https://shop.example.org/x",
)
HTML = (
    "<html><body><p>Hello {{ name }} of {{ company }},</p>"
    f'<p><a href="{LINKS[0].replace("&", "&amp;")}">spring</a>'
    f' <a href="{LINKS[1]}">shop</a> <a href="mailto:help@example.com">help</a></p>'
    '<p><a href="{{ unsubscribe_url }}">unsubscribe</a></p></body></html>'
)


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"])
        if tag == "img" and values.get("src"):
            self.images.append(values["src"])


def test_templated_messages_sent_then_opened_and_clicked_through_the_endpoint(db, db_url, tmp_path):
    server = start_server(db_url, tmp_path / "spool")
    relay = LoopbackRelay(Behaviour()).start()
    try:
        emails = [f"ok{i}@a.test" for i in range(12)]
        pk, ids = running_campaign(db, "camp_tmpl", emails)
        with db.transaction() as s:
            t = add_template(s, name="Spring", subject="Spring for {{ name }}", html_body=HTML)
            s.execute(
                text("UPDATE campaigns SET template_id = :t WHERE id = :c"), {"t": t.id, "c": pk}
            )
            tracking.set_public_url(s, server.url)
            set_mail_from(s, "Spring News <news@mail.example.test>")
        sender = Sender(db, parse_relay(relay.url), MessageBuilder(), replace(FAST))
        totals = asyncio.run(sender.run())
        assert totals.sent == len(emails)
        assert {v[0] for v in recipients(db, pk).values()} == {"sent"}
        received = relay.behaviour.received_by()
        assert sorted(received) == sorted(emails)
        with db.reading() as s:
            ring = tracking.load_keyring(s)
        for address, (copy,) in received.items():
            rid = ids[address]
            m = copy.message
            assert m["Message-ID"] == message_id(pk, rid, "mail.example.test")
            assert m["Subject"] == f"Spring for {address.split('@')[0]}"
            assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert "Return-Path" not in m  # the envelope's: the receiving server writes it
            claim = parse_bounce_address(ring, copy.mail_from)
            assert claim is not None and claim.recipient_id == rid
            html = m.get_body(("html",)).get_content()
            text_part = m.get_body(("plain",)).get_content()
            assert f"Hello {address.split('@')[0]}" in html and "Hello" in text_part
            found = Hrefs()
            found.feed(html)
            assert "mailto:help@example.com" in found.hrefs
            tracked = [h for h in found.hrefs if h.startswith(server.url)]
            assert len(tracked) == 3  # two links and the unsubscribe URL
            assert len(found.images) == 1 and found.images[0].endswith("/open")
        # One recipient opens and clicks the spring link of the message it received.
        who = emails[3]
        (copy,) = received[who]
        found = Hrefs()
        found.feed(copy.message.get_body(("html",)).get_content())
        with httpx.Client(timeout=10) as client:
            assert client.get(found.images[0]).status_code == 200
            click = client.get(next(h for h in found.hrefs if "/click/" in h))
            assert click.status_code == 302 and click.headers["location"] == LINKS[0]
        with db.reading() as s:
            events = s.execute(
                text(
                    "SELECT event_type, source FROM email_tracking"
                    " WHERE campaign_recipient_id = :r ORDER BY id"
                ),
                {"r": ids[who]},
            ).all()
            assert [tuple(e) for e in events] == [("open", "pixel"), ("click", "link")]
        assert_counters_match(db_url)
    finally:
        relay.stop()
        assert server.stop() == 0, server.stderr()
