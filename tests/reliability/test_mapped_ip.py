"""Apple privacy-proxy opens from IPv4-mapped IPv6 addresses (issue 19.15): a dual-stack
server sees 17.1.2.3 as ::ffff:17.1.2.3, which was not recognised as Apple's network. The
mapped form is the same host: events store it as the IPv4 address, and both forms of the
rule (Python while recording, SQL in reclassify, for rows other programs wrote) accept it."""

from __future__ import annotations

import psycopg
import pytest

from core import events
from core.events import EventInput, record_event
from tests.reliability.hostile import World, make_world, one

MPP = "Mozilla/5.0"


@pytest.fixture(scope="module")
def world(module_db_url):
    w = make_world(module_db_url)
    yield w
    w.db.close()


@pytest.mark.parametrize("ip", ["::ffff:17.1.2.3", "::FFFF:17.1.2.3", "::ffff:1101:203"])
def test_a_mapped_apple_address_is_a_machine_open_and_stored_as_ipv4(world: World, ip):
    event = EventInput("open", recipient_id=world.recipient["ana"], user_agent=MPP, ip_address=ip)
    event_id = world.db.run(lambda s: record_event(s, event))
    stored = one(
        world.url,
        "SELECT host(ip_address) || ' ' || (event_data ->> 'machine_reason')"
        " FROM email_tracking WHERE id = %s",
        event_id,
    )
    assert stored == "17.1.2.3 apple-mpp"


def test_a_mapped_address_outside_apple_is_human_and_stored_as_ipv4(world: World):
    event = EventInput(
        "open", recipient_id=world.recipient["ana"], user_agent=MPP, ip_address="::ffff:18.1.2.3"
    )
    event_id = world.db.run(lambda s: record_event(s, event))
    row = one(
        world.url,
        "SELECT (host(ip_address), event_data) FROM email_tracking WHERE id = %s",
        event_id,
    )
    assert row == ("18.1.2.3", None)


def test_both_forms_of_the_rule_agree_on_mapped_addresses(world: World):
    rule = next(r for r in events.RULES if r.name == "apple-mpp")
    settings = events.Settings()
    with world.db.reading() as session:
        for ip, expected in [
            ("::ffff:17.1.2.3", True),
            ("::ffff:17.255.255.255", True),
            ("::ffff:18.0.0.1", False),
            ("17.1.2.3", True),
            ("2001:db8::17", False),
        ]:
            signals = events.Signals("open", MPP, ip)
            assert rule.matches(signals) is expected, ip
            assert events.rule_sql_matches(session, rule, signals, settings) is expected, ip


def test_reclassify_finds_mapped_opens_other_programs_stored(world: World):
    with psycopg.connect(world.url) as conn:
        event_id = conn.execute(
            "INSERT INTO email_tracking (campaign_recipient_id, event_type, user_agent,"
            " ip_address) VALUES (%s, 'open', %s, '::ffff:17.9.9.9') RETURNING id",
            (world.recipient["ines"], MPP),
        ).fetchone()[0]
    assert world.db.run(lambda s: events.reclassify(s, "camp_spring")) >= 1
    reason = "SELECT event_data ->> 'machine_reason' FROM email_tracking WHERE id = %s"
    assert one(world.url, reason, event_id) == "apple-mpp"
