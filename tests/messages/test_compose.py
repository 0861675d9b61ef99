"""A campaign's message for one recipient: fields, links tracked and saved, pixel, CSS inlined,
text part, headers (Message-ID, RFC 8058, signed VERP), and the templates' checks on save."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from core import campaigns, messages
from core.errors import Conflict, InvalidInput
from core.tracking import (
    ENV_KEY,
    campaign_links,
    load_keyring,
    parse_bounce_address,
    parse_message_id,
    set_public_url,
    verify,
)
from tests.factories import make_campaign, make_recipients

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
HTML = """<html><head><style>p { color: #123456 }</style></head><body>
<p>Hello {{ name }} of {{ company }}: {{ campaign_name }}</p>
<a href="https://shop.example.com/item?id=7&amp;utm_source=mail#top">Shop</a>
<a href="https://shop.example.com/item?id=7&amp;utm_source=mail#top">Again</a>
<a href="mailto:help@example.com">Mail us</a> <a href="tel:+441234">Call</a>
<a data-notrack href="https://private.example.com/">private</a>
<a href="{{ unsubscribe_url }}">Unsubscribe</a>
</body></html>"""


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)


@pytest.fixture
def world(session):
    t = messages.add_template(session, name="Launch", subject="News for {{ name }}", html_body=HTML)
    c = make_campaign(session, "camp_mail", name="Spring <Launch>", template_id=t.id)
    rids = make_recipients(session, c, 2)
    session.commit()
    email = session.execute(
        text("SELECT email_address FROM campaign_recipients WHERE id = :id"), {"id": rids[0]}
    ).scalar_one()
    return c.id, rids, email, t


def test_message_for_a_recipient(session, world):
    pk, rids, email, _ = world
    set_public_url(session, "https://t.example.net")
    messages.set_mail_from(session, "Acme News <news@mail.acme.test>")
    msg = messages.message_for(session, "camp_mail", email, now=T0)
    session.commit()
    assert msg["Subject"].startswith("News for Lead ")
    assert msg["From"] == "Acme News <news@mail.acme.test>"
    assert email in msg["To"]
    assert msg["Message-ID"] == f"<cc.{pk}.{rids[0]}@mail.acme.test>"
    assert parse_message_id(msg["Message-ID"]) == (pk, rids[0])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsub = msg["List-Unsubscribe"].strip("<>")
    assert unsub.startswith("https://t.example.net/api/v1/campaigns/track/")
    assert unsub.endswith("/unsubscribe")
    ring = load_keyring(session)
    claim = parse_bounce_address(ring, msg["Return-Path"])
    assert claim is not None and (claim.campaign_pk, claim.recipient_id) == (pk, rids[0])
    assert msg["Return-Path"].endswith("@mail.acme.test>")
    assert msg["X-Campaign-Console-Campaign"] == "camp_mail"
    assert msg["X-Campaign-Console-Recipient"] == str(rids[0])
    plain, html = messages.parts(msg)
    assert "Spring &lt;Launch&gt;" in html  # fields escaped in HTML
    assert 'style="color: #123456;"' in html  # CSS inlined
    assert "mailto:help@example.com" in html and "tel:+441234" in html
    assert 'href="https://private.example.com/"' in html
    assert "https://shop.example.com" not in html
    assert html.count("/click/1") == 2
    assert html.index("/open") < html.index("</body>")
    # one saved link: the same url once; mailto, tel, notrack and the unsubscribe URL not at all
    assert campaign_links(session, pk) == (
        (1, "https://shop.example.com/item?id=7&utm_source=mail#top"),
    )
    assert "Shop [1]" in plain and "[1] https://t.example.net/" in plain
    token = html.split("/track/")[1].split("/")[0]
    assert verify(ring, token, link=1).recipient_id == rids[0]


def test_message_id_and_links_stable(session, world):
    _, _, email, _ = world
    a = messages.message_for(session, "camp_mail", email, now=T0)
    b = messages.message_for(session, "camp_mail", email, now=T0)
    assert a["Message-ID"] == b["Message-ID"] and a.as_bytes() == b.as_bytes()


def test_forged_bounce_address(session, world):
    _pk, rids, email, _ = world
    msg = messages.message_for(session, "camp_mail", email)
    ring = load_keyring(session)
    addr = msg["Return-Path"].strip("<>")
    local, domain = addr.split("@")
    flipped = local[:-1] + ("A" if local[-1] != "A" else "B")
    assert parse_bounce_address(ring, f"{flipped}@{domain}") is None
    assert parse_bounce_address(ring, f"bounces@{domain}") is None
    assert parse_bounce_address(ring, "someone@example.com") is None
    assert parse_bounce_address(ring, addr).recipient_id == rids[0]


def test_text_body_used_when_given(session, world):
    _, _, email, t = world
    messages.edit_template(session, t.id, text_body="Hi {{ name }} <b>{{ company }}</b>\n")
    plain, _ = messages.parts(messages.message_for(session, "camp_mail", email))
    assert plain.startswith("Hi Lead ") and "<b>Acme</b>" in plain


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"html_body": "<p>{{ nam }}</p>"}, "html body, line 1: no field 'nam'"),
        ({"html_body": "<p>\n\n{% if name %}</p>"}, "html body, line 3: does not parse"),
        ({"subject": "Hi {{ first_name }}"}, "subject, line 1: no field 'first_name'"),
        ({"html_body": "{{ ''.__class__ }}"}, "an attribute"),
        ({"html_body": "x\n{{ email.__class__.__mro__ }}"}, "html body, line 2: an attribute"),
        ({"html_body": "{{ email['x'] }}"}, "an item"),
        ({"html_body": "{{ cycler }}"}, "no field 'cycler'"),
        ({"html_body": "{{ range.__globals__ }}"}, "attribute"),
        ({"html_body": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"}, "a macro"),
        ({"html_body": "{% set x = email %}"}, "`set`"),
        ({"html_body": "{% include 'x' %}"}, "`include`"),
        ({"html_body": "{% extends 'x' %}"}, "`extends`"),
        ({"html_body": "{{ 'a' * 100000000 }}"}, "'*'"),
        ({"html_body": "{{ 9 ** 9 ** 9 }}"}, "'**'"),
        ({"html_body": "{% for i in range(10**9) %}{% endfor %}"}, "'**'"),
        ({"html_body": "{% for i in range(99999999) %}{% endfor %}"}, "range() gives at most"),
        (
            {
                "html_body": "{% for a in range(999) %}{% for b in range(999) %}"
                "{% for c in range(999) %}{% endfor %}{% endfor %}{% endfor %}"
            },
            "loops nest at most 2",
        ),
        (
            {
                "html_body": "{% for a in range(999) %}{% for b in range(999) %}"
                "{{ email }}{{ email }}{{ email }}{% endfor %}{% endfor %}"
            },
            "renders to more than",
        ),
        ({"html_body": "{% for x in email recursive %}{{ loop(x) }}{% endfor %}"}, "recursive"),
        ({"html_body": "{{ name|attr('__class__') }}"}, "filter 'attr'"),
        ({"html_body": "{{ name|center(100000000) }}"}, "filter 'center'"),
        ({"html_body": "{{ lipsum(10**6) }}"}, "range()"),
        ({"html_body": "{{ email|safe }}"}, "filter 'safe'"),
        ({"html_body": "x" * 5_000_000}, "at most 1,000,000"),
        ({"html_body": "ok \udcff bad"}, "U+DCFF"),
        ({"html_body": "nul \x00"}, "U+0000"),
        ({"subject": "two\nlines"}, "one line"),
        ({"name": "  "}, "needs a name"),
        ({"html_body": " "}, "needs an HTML body"),
    ],
)
def test_hostile_templates_refused(fields, message):
    """check_template is what every save runs first (pure: no database needed here)."""
    base = {"name": "Hostile", "subject": "Hi", "html_body": "<p>ok</p>", "text_body": None}
    with pytest.raises(InvalidInput) as caught:
        messages.check_template(**(base | fields))
    assert message in str(caught.value)


def test_a_refused_save_writes_nothing(session):
    for bad in ("{{ ''.__class__ }}", "{% for i in range(10**6) %}x{% endfor %}", "x" * 5_000_000):
        with pytest.raises(InvalidInput):
            messages.add_template(session, name="Hostile", subject="Hi", html_body=bad)
    session.rollback()
    assert session.execute(text("SELECT count(*) FROM templates")).scalar_one() == 0


def test_markup_in_fields_rendered_literally(session):
    t = messages.add_template(
        session,
        name="Fields",
        subject="{{ name }} {{ company }}",
        html_body="<p>{{ name }}|{{ company }}|{{ email }}</p>",
    )
    c = make_campaign(session, "camp_hostile", name="<script>x</script>", template_id=t.id)
    session.execute(
        text("INSERT INTO leads (email, name, company) VALUES ('h@x.test', :n, :c)"),
        {
            "n": '<a href="https://evil.test">{{ 7*7 }}</a>\r\nBcc: all@x.test',
            "c": "&amp; \x1b[31m",
        },
    )
    session.execute(
        text(
            "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address)"
            " SELECT :c, id, email FROM leads WHERE email = 'h@x.test'"
        ),
        {"c": c.id},
    )
    msg = messages.message_for(session, "camp_hostile", "h@x.test")
    _, html = messages.parts(msg)
    shown, found = messages.to_text(html)
    assert '<a href="https://evil.test">{{ 7*7 }}</a>' in shown  # text, not a tag
    assert "&amp;" in shown
    assert not any("evil.test" in u for u in found)
    assert "Bcc" not in msg and "\n" not in msg["Subject"]
    assert campaign_links(session, c.id) == ()  # a field's markup is no link


def test_delete_refused_while_an_unfinished_campaign_uses_it(session, world):
    _, _, _, t = world
    with pytest.raises(Conflict, match="camp_mail \\(draft\\)"):
        messages.delete_template(session, t.id)
    session.rollback()
    session.execute(
        text("UPDATE campaigns SET status = 'completed' WHERE campaign_id = 'camp_mail'")
    )
    assert messages.delete_template(session, "Launch").id == t.id


def test_campaigns_name_templates_that_exist(session, world):
    _, _, _, t = world
    with pytest.raises(InvalidInput, match="No template with id 999"):
        campaigns.create_campaign(session, name="x", template_id=999)
    session.rollback()
    made = campaigns.create_campaign(session, name="x", template_id=t.id)
    assert made.template_id == t.id
    with pytest.raises(InvalidInput, match="No template with id 998"):
        campaigns.edit_campaign(session, made.campaign_id, template_id=998)


def test_duplicate_name_is_a_conflict(session, world):
    with pytest.raises(Conflict, match="named 'Launch'"):
        messages.add_template(session, name="Launch", subject="x", html_body="<p>x</p>")


def test_mail_from_checked(session):
    for bad in ("nobody", "a@", "x <a@b\n.com>", "a@-bad-"):
        with pytest.raises(InvalidInput):
            messages.set_mail_from(session, bad)
    assert messages.mail_from(session) == messages.DEFAULT_FROM


FAST_CASES = [
    "<p>Hi {{ name }} ({{ email }})</p><a href='https://a.example/x?y=1&amp;z=[2]'>a</a>",
    "<p>{% if company %}At {{ company }}{% else %}Hello{% endif %} {{ name or 'you' }}</p>"
    '<a href="https://b.example/" title="{{ name }}">b</a>'
    "<a href=\"{{ unsubscribe_url }}\">u</a>{% if name == 'Lead 1' %}<b>one</b>{% endif %}",
    "<html><head><style>td { color: red }</style></head><body><table><tr><td>{{ name }}</td>"
    '</tr></table><img alt="{{ company }}" src="https://c.example/i.png"></body></html>',
]


@pytest.mark.parametrize("body", FAST_CASES)
def test_skeleton_means_what_the_full_rendering_does(session, body):
    """The campaign's skeleton (core.messages.skeleton) and the full path, on recipients whose
    values hold markup, quotes, ampersands and non-ASCII: the same text, links and pixel."""
    t = messages.add_template(session, name="Fast", subject="S {{ name }}", html_body=body)
    c = make_campaign(session, "camp_fast", name="Fast", template_id=t.id)
    make_recipients(session, c, 2)
    session.execute(
        text("UPDATE leads SET name = :n, company = :c WHERE id = (SELECT min(id) FROM leads)"),
        {"n": "Zoë \"<b>\" & 'x'", "c": "A&amp;B <i>"},
    )
    emails = session.scalars(text("SELECT email_address FROM campaign_recipients")).all()
    fast = messages.prepare(session, "camp_fast")
    slow = messages.prepare(session, "camp_fast")
    slow.fast = False
    assert fast.fast
    for address in emails:
        r = messages.recipient(session, fast, address)
        a_text, a_html = messages.parts(fast.message(session, r, date=T0))
        b_text, b_html = messages.parts(slow.message(session, r, date=T0))
        assert messages.to_text(a_html) == messages.to_text(b_html)
        assert " ".join(a_text.split()) == " ".join(b_text.split())
    assert len(fast.skeletons) >= 1


def test_fields_in_filters_or_links_take_the_full_path(session):
    for body in ("<p>{{ name|upper }}</p>", "<p>{% for c in name %}{{ c }}{% endfor %}</p>"):
        assert not messages.skeleton.plain_fields_only(body)
    t = messages.add_template(
        session,
        name="Per",
        subject="S",
        html_body='<a href="https://x.example/?e={{ email }}">x</a>',
    )
    c = make_campaign(session, "camp_per", template_id=t.id)
    make_recipients(session, c, 2)
    mail = messages.prepare(session, "camp_per")
    for address in session.scalars(text("SELECT email_address FROM campaign_recipients")):
        mail.message(session, messages.recipient(session, mail, address))
    assert list(mail.skeletons.values()) == [None]  # no skeleton: each recipient its own link
    assert len(campaign_links(session, c.id)) == 2
