"""Provider payloads into ProviderEvents, pure: which events are recorded and how, which
are skipped, and what a malformed payload is answered."""

from __future__ import annotations

import json

import pytest

from core.endpoint.webhooks import mailgun, postmark, sendgrid, ses
from core.endpoint.webhooks.common import (
    Kind,
    Refusal,
    dedup_key,
    enhanced_status,
    parse_json,
    smtp_code,
)
from tests.endpoint import payloads

MID = "<cc.7.42@mail.example.org>"


def test_ses_bounce_hard_and_soft():
    hard = ses.parse(json.dumps(payloads.ses_bounce("a@x.org", message_id=MID)), "sns-1")
    (event,) = hard.events
    assert event.kind is Kind.BOUNCE and event.email == "a@x.org" and event.message_id == MID
    assert event.data["bounce_type"] == "hard"
    assert event.data["error_code"] == "550" and event.data["enhanced_status"] == "5.1.1"
    assert event.data["error_message"] == "smtp; 550 5.1.1 user unknown"
    assert event.event_id.startswith("0102") and event.dedup_key == f"ses:{event.event_id}"
    assert event.occurred_at is not None and event.occurred_at.isoformat().startswith(
        "2026-12-01T10"
    )

    soft = ses.parse(json.dumps(payloads.ses_bounce("a@x.org", permanent=False)), "sns-2")
    assert soft.events[0].data["bounce_type"] == "soft"
    assert soft.events[0].data["error_code"] == "452"


def test_ses_event_publishing_tags_and_header():
    message = payloads.ses_bounce("a@x.org", campaign="spring", event_publishing=True)
    (event,) = ses.parse(json.dumps(message), "sns").events
    assert event.campaign == "spring" and event.message_id is None
    message["mail"]["headers"].append({"name": payloads.HEADER, "value": "autumn"})
    assert ses.parse(json.dumps(message), "sns").events[0].campaign == "autumn"


def test_ses_several_recipients_get_their_own_ids():
    message = payloads.ses_bounce("a@x.org", feedback_id="fb")
    message["bounce"]["bouncedRecipients"].append({"emailAddress": "b@x.org"})
    events = ses.parse(json.dumps(message), "sns").events
    assert [e.event_id for e in events] == ["fb/1", "fb/2"]
    assert events[1].data["error_message"].startswith("Permanent bounce")


def test_ses_complaint_delivery_and_others():
    (complaint,) = ses.parse(json.dumps(payloads.ses_complaint("a@x.org")), "s").events
    assert complaint.kind is Kind.COMPLAIN and complaint.data["feedback_type"] == "abuse"
    (delivery,) = ses.parse(json.dumps(payloads.ses_delivery("a@x.org")), "s").events
    assert delivery.kind is Kind.DELIVERED and delivery.detail.startswith("250 ok")
    other = ses.parse(json.dumps({"eventType": "Open", "mail": {}}), "s")
    assert not other.events and "'Open'" in other.skipped[0].reason
    text = ses.parse("Successfully validated SNS topic for Amazon SES event publishing.", "s")
    assert not text.events and text.skipped


def test_sendgrid_events():
    batch = [
        payloads.sendgrid_event("bounce", "a@x.org", **{"smtp-id": MID}),
        payloads.sendgrid_event("bounce", "b@x.org", type="blocked", reason="421 try later"),
        payloads.sendgrid_event("dropped", "c@x.org", reason="Bounced Address"),
        payloads.sendgrid_event("deferred", "d@x.org", response="400 try again"),
        payloads.sendgrid_event("spamreport", "e@x.org", cc_campaign="spring"),
        payloads.sendgrid_event("group_unsubscribe", "f@x.org", asm_group_id=7),
        payloads.sendgrid_event("delivered", "g@x.org"),
        payloads.sendgrid_event("open", "h@x.org"),
    ]
    parsed = sendgrid.parse(batch)
    kinds = [(e.position, e.kind, e.data.get("bounce_type")) for e in parsed.events]
    assert kinds == [
        (1, Kind.BOUNCE, "hard"),
        (2, Kind.BOUNCE, "soft"),
        (3, Kind.BOUNCE, "dropped"),
        (5, Kind.COMPLAIN, None),
        (6, Kind.UNSUBSCRIBE, None),
        (7, Kind.DELIVERED, None),
    ]
    hard = parsed.events[0]
    assert hard.message_id == MID and hard.data["error_code"] == "550"
    assert hard.data["enhanced_status"] == "5.1.1" and hard.event_id == batch[0]["sg_event_id"]
    assert parsed.events[3].campaign == "spring"
    assert parsed.events[4].data["asm_group_id"] == "7"
    assert parsed.events[5].detail == "250 OK"
    assert [s.position for s in parsed.skipped] == [4, 8]
    assert "deferral" in parsed.skipped[0].reason


@pytest.mark.parametrize(
    "payload",
    [{"event": "bounce"}, [1], [{"event": "bounce", "email": "a@x.org"}], "x"],
)
def test_sendgrid_malformed(payload):
    with pytest.raises(Refusal) as info:
        sendgrid.parse(payload)
    assert info.value.status == 400


def test_mailgun_events():
    failed = mailgun.parse(
        {"event-data": payloads.mailgun_event("failed", "a@x.org", message_id=MID)}
    )
    (event,) = failed.events
    assert event.kind is Kind.BOUNCE and event.message_id == MID.strip("<>")
    assert event.data["bounce_type"] == "hard" and event.data["error_code"] == "550"
    assert event.data["error_message"] == "5.1.1 No such user"
    gave_up = payloads.mailgun_event("failed", "a@x.org")
    gave_up["delivery-status"] = {"code": 452, "message": "mailbox full"}
    assert mailgun.parse({"event-data": gave_up}).events[0].data["bounce_type"] == "soft"
    temporary = payloads.mailgun_event("failed", "a@x.org", severity="temporary")
    assert not mailgun.parse({"event-data": temporary}).events
    for name, kind in (
        ("complained", Kind.COMPLAIN),
        ("unsubscribed", Kind.UNSUBSCRIBE),
        ("delivered", Kind.DELIVERED),
    ):
        data = payloads.mailgun_event(name, "a@x.org", **{"user-variables": {"cc_campaign": "c"}})
        (event,) = mailgun.parse({"event-data": data}).events
        assert event.kind is kind and event.campaign == "c"
    assert not mailgun.parse({"event-data": payloads.mailgun_event("opened", "a@x.org")}).events
    with pytest.raises(Refusal):
        mailgun.parse({"signature": {}})


def test_postmark_records():
    (hard,) = postmark.parse(payloads.postmark_bounce("a@x.org", "spring")).events
    assert hard.kind is Kind.BOUNCE and hard.campaign == "spring" and hard.message_id is None
    assert hard.data["bounce_type"] == "hard" and hard.data["error_code"] == "550"
    assert hard.data["enhanced_status"] == "5.1.1" and hard.event_id.startswith("bounce:")
    soft = postmark.parse(payloads.postmark_bounce("a@x.org", "s", type_="SoftBounce")).events
    assert soft[0].data["bounce_type"] == "soft"
    auto = postmark.parse(payloads.postmark_bounce("a@x.org", "s", type_="AutoResponder"))
    assert not auto.events and auto.skipped
    unsub = postmark.parse(payloads.postmark_bounce("a@x.org", "s", type_="Unsubscribe")).events
    assert unsub[0].kind is Kind.UNSUBSCRIBE
    (spam,) = postmark.parse(payloads.postmark_record("SpamComplaint", "a@x.org", "s")).events
    assert spam.kind is Kind.COMPLAIN
    (delivery,) = postmark.parse(payloads.postmark_record("Delivery", "a@x.org", "s")).events
    assert delivery.kind is Kind.DELIVERED and delivery.detail
    (change,) = postmark.parse(
        payloads.postmark_record("SubscriptionChange", "a@x.org", "s")
    ).events
    assert (
        change.kind is Kind.UNSUBSCRIBE and change.data["suppression_reason"] == "ManualSuppression"
    )
    for fields in ({"SuppressSending": False}, {"SuppressionReason": "HardBounce"}):
        record = payloads.postmark_record("SubscriptionChange", "a@x.org", "s", **fields)
        assert not postmark.parse(record).events
    assert not postmark.parse({"RecordType": "Open"}).events
    for bad in ({}, [], "x"):
        with pytest.raises(Refusal):
            postmark.parse(bad)


def test_helpers():
    assert smtp_code("smtp; 550 5.1.1 user unknown") == "550"
    assert smtp_code("5.1.1 only", 421) == "421"
    assert smtp_code("no code", None) is None
    assert enhanced_status("550 5.7.1 blocked") == "5.7.1"
    assert dedup_key("ses", "x" * 300).startswith("ses:sha256:")
    assert len(dedup_key("ses", "x" * 300)) <= 200
    for bad in (b"{", b"[NaN]", b"\xff", b""):
        with pytest.raises(Refusal) as info:
            parse_json(bad)
        assert info.value.status == 400
