"""Campaign links, a recipient's tracking URLs, the public URL setting, Message-IDs, and
providers' delivery reports (stored once, on the timeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.errors import InvalidInput, NotFound
from core.events import DeliveryInput, recipient_timeline, record_deliveries
from core.tracking import (
    DEFAULT_PUBLIC_URL,
    ENV_KEY,
    TRACK_PREFIX,
    link_url,
    load_keyring,
    message_id,
    parse_message_id,
    public_url,
    recipient_urls,
    save_links,
    set_public_url,
    verify,
)
from tests.factories import make_campaign, make_recipients

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)


@pytest.fixture
def world(session):
    campaign = make_campaign(session, "camp_urls")
    rids = make_recipients(session, campaign, 3, status="sent", sent_at=T0)
    session.commit()
    return campaign.id, rids


def _email(session, rid) -> str:
    return session.execute(
        text("SELECT email_address FROM campaign_recipients WHERE id = :id"), {"id": rid}
    ).scalar_one()


def test_links_get_positions_once_per_url(session, world):
    pk, _ = world
    a, b, c = "https://example.com/a", "https://example.com/b?x=1", "http://example.org/"
    assert save_links(session, pk, [a, b, a]) == [1, 2, 1]
    assert save_links(session, pk, [c, b]) == [3, 2]
    assert save_links(session, pk, []) == []
    session.commit()
    assert [link_url(session, pk, p) for p in (1, 2, 3, 4, 0, 70000)] == [a, b, c, None, None, None]


@pytest.mark.parametrize(
    "url",
    [
        "",
        "javascript:alert(1)",
        "/relative",
        "https://",
        "https://a b",
        "http://x/\n",
        3,
        "ftp://x/",
    ],
)
def test_a_bad_link_is_refused_and_nothing_saved(session, world, url):
    pk, _ = world
    with pytest.raises(InvalidInput):
        save_links(session, pk, ["https://example.com/ok", url])
    session.rollback()
    assert session.execute(text("SELECT count(*) FROM campaign_links")).scalar_one() == 0


def test_links_of_no_campaign_are_refused(session):
    with pytest.raises(NotFound):
        save_links(session, 999_999, ["https://example.com/"])


def test_recipient_urls_carry_tokens_that_verify(session, world):
    pk, rids = world
    save_links(session, pk, ["https://example.com/a", "https://example.com/b"])
    set_public_url(session, "https://track.example.com/mail/")
    session.commit()
    urls = recipient_urls(session, "camp_urls", _email(session, rids[1]))
    session.commit()
    base = f"https://track.example.com/mail{TRACK_PREFIX}/"
    assert urls.open.startswith(base) and urls.open.endswith("/open")
    assert urls.unsubscribe.startswith(base) and urls.unsubscribe.endswith("/unsubscribe")
    ring = load_keyring(session)
    token = urls.open[len(base) : -len("/open")]
    claim = verify(ring, token)
    assert claim is not None and (claim.campaign_pk, claim.recipient_id) == (pk, rids[1])
    assert [(p, t) for p, t, _ in urls.clicks] == [
        (1, "https://example.com/a"),
        (2, "https://example.com/b"),
    ]
    for position, _, url in urls.clicks:
        click_token, tail = url[len(base) :].split("/click/")
        assert int(tail) == position
        assert verify(ring, click_token, link=position).link == position
        assert verify(ring, click_token, link=position % 2 + 1) is None
    by_pk = recipient_urls(session, pk, _email(session, rids[1]), "http://10.0.0.1:9000")
    assert by_pk.open.startswith(f"http://10.0.0.1:9000{TRACK_PREFIX}/")


def test_recipient_urls_refuse_unknown_campaigns_and_recipients(session, world):
    with pytest.raises(NotFound):
        recipient_urls(session, "camp_none", "a@example.com")
    with pytest.raises(NotFound):
        recipient_urls(session, "camp_urls", "nobody@example.com")
    with pytest.raises(InvalidInput):
        recipient_urls(session, "camp_urls", "nobody@example.com", "ftp://x")


def test_public_url_default_and_checks(session):
    assert public_url(session) == DEFAULT_PUBLIC_URL
    for bad in (
        "",
        "track.example.com",
        "https://user:pw@x.example",
        "https://x/?q=1",
        "https://x/#f",
    ):
        with pytest.raises(InvalidInput) as refused:
            set_public_url(session, bad)
        assert "pw" not in str(refused.value)
    set_public_url(session, "https://t.example.com")
    set_public_url(session, "https://u.example.com/")
    assert public_url(session) == "https://u.example.com"


def test_message_ids_round_trip_and_tolerate_brackets_and_spaces():
    value = message_id(12, 345, "mail.example.com")
    assert value == "<cc.12.345@mail.example.com>"
    assert parse_message_id(value) == (12, 345)
    assert parse_message_id("  cc.12.345@mail.example.com \r\n") == (12, 345)
    assert parse_message_id("< cc.12.345@mail.example.com >") == (12, 345)
    for other in ("", "<abc@x>", "<cc.0.1@x>", "<cc.1.99999999999@x>", "<cc.1.2@>", None, "cc.1.2"):
        assert parse_message_id(other) is None  # type: ignore[arg-type]
    for bad in ("", "a b", "x@y", "<x>"):
        with pytest.raises(InvalidInput):
            message_id(1, 2, bad)


def test_deliveries_are_stored_once_and_shown_on_the_timeline(session, world):
    _, rids = world
    email = _email(session, rids[0])
    items = [
        DeliveryInput(
            recipient_id=rids[0],
            provider="ses",
            provider_event_id="m1",
            delivered_at=T0 + timedelta(minutes=1),
            detail="250 ok",
        ),
        DeliveryInput(
            campaign="camp_urls", email_address=email, provider="ses", provider_event_id="m1"
        ),  # the same report again
        DeliveryInput(
            recipient_id=rids[0],
            provider="postmark",
            provider_event_id="m1",
            delivered_at=T0 + timedelta(minutes=2),
        ),
    ]
    assert record_deliveries(session, items) == 2
    assert record_deliveries(session, items) == 0
    session.commit()
    timeline = recipient_timeline(session, rids[0])
    assert [(d.provider, d.detail) for d in timeline.deliveries] == [
        ("ses", "250 ok"),
        ("postmark", None),
    ]
    assert recipient_timeline(session, rids[1]).deliveries == ()


@pytest.mark.parametrize(
    "item",
    [
        DeliveryInput(recipient_id=999_999, provider="ses", provider_event_id="x"),
        DeliveryInput(
            campaign="camp_urls",
            email_address="no@example.com",
            provider="ses",
            provider_event_id="x",
        ),
        DeliveryInput(provider="ses", provider_event_id="x"),
        DeliveryInput(recipient_id=1, provider="", provider_event_id="x"),
        DeliveryInput(recipient_id=1, provider="ses", provider_event_id="x" * 501),
        DeliveryInput(
            recipient_id=1, provider="ses", provider_event_id="x", delivered_at=datetime(2026, 1, 1)
        ),
    ],
)
def test_a_bad_delivery_is_refused_and_nothing_written(session, world, item):
    _, rids = world
    good = DeliveryInput(recipient_id=rids[0], provider="ses", provider_event_id="good")
    with pytest.raises(InvalidInput, match="No delivery was recorded"):
        record_deliveries(session, [good, item])
    session.rollback()
    assert session.execute(text("SELECT count(*) FROM deliveries")).scalar_one() == 0
    assert record_deliveries(session, [good, item], skip_invalid=True) == 1
