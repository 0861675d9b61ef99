"""The webhooks end to end: a real uvicorn process on loopback, a real httpx client, each
provider with valid and invalid signatures, and the database checked after every answer
(events with their source and dedup key, duplicates stored once, suppression after a hard
bounce or complaint, nothing written for a refusal)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.endpoint.webhooks.config import (
    ENV_MAILGUN_SIGNING_KEY,
    ENV_POSTMARK_AUTH,
    ENV_SENDGRID_PUBLIC_KEY,
)
from core.store import Database
from tests.endpoint import payloads
from tests.endpoint.signing import Mailgun, SendGrid, Sns, basic
from tests.endpoint.webhook_app import CERT_ENV, SPOOL_ENV
from tests.endpoint.webhook_db import (
    deliveries,
    events,
    post,
    recipients,
    state,
    suppressed,
    totals,
)
from tests.endpoint.webhook_server import webhook_server
from tests.scratch import scratch_database

POSTMARK = ("hook", "pm-secret-123")


@dataclass
class Hooks:
    db: Database
    client: httpx.Client
    sns: Sns
    sendgrid: SendGrid
    mailgun: Mailgun
    log: Path


@pytest.fixture(scope="module")
def hooks(pg_admin_url, template_url, tmp_path_factory) -> Iterator[Hooks]:
    signer, sg, mg = Sns(), SendGrid(), Mailgun()
    folder = tmp_path_factory.mktemp("webhooks")
    cert = folder / "sns.pem"
    cert.write_bytes(signer.pem)
    with scratch_database(pg_admin_url, "cc_wh", template_url=template_url) as url:
        env = {
            "DATABASE_URL": url,
            CERT_ENV: str(cert),
            SPOOL_ENV: str(folder / "spool"),
            ENV_SENDGRID_PUBLIC_KEY: sg.public_b64,
            ENV_MAILGUN_SIGNING_KEY: mg.key.decode(),
            ENV_POSTMARK_AUTH: ":".join(POSTMARK),
        }
        db = Database(url)
        try:
            with webhook_server(env, folder / "server.log") as client:
                yield Hooks(db, client, signer, sg, mg, folder / "server.log")
        finally:
            db.close()


# --- SES ---------------------------------------------------------------------------------


def test_ses_bounce_complaint_delivery_and_duplicates(hooks):
    a, b, c = recipients(hooks.db)
    bounce = payloads.ses_bounce(a.email, message_id=a.message_id, feedback_id="fb-a")
    message = hooks.sns.notification(bounce, version="1")
    answer = post(hooks.client, "ses", message)
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == 1
    ((kind, source, key, data),) = events(hooks.db, a)
    assert (kind, source, key) == ("bounce", "ses", "ses:fb-a")
    assert data["bounce_type"] == "hard" and data["error_code"] == "550"
    assert state(hooks.db, a) == ("bounced", True, "smtp; 550 5.1.1 user unknown")
    assert suppressed(hooks.db, a) == ["hard_bounce"]

    # SNS sends the same message again; the same bounce also comes by event publishing.
    again = post(hooks.client, "ses", message)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    published = payloads.ses_bounce(
        a.email, message_id=a.message_id, feedback_id="fb-a", event_publishing=True
    )
    other_channel = post(hooks.client, "ses", hooks.sns.notification(published))
    assert other_channel.json() == {"recorded": 0, "deliveries": 0, "duplicates": 1}
    assert len(events(hooks.db, a)) == 1

    complaint = hooks.sns.notification(payloads.ses_complaint(b.email, message_id=b.message_id))
    assert post(hooks.client, "ses", complaint).json()["recorded"] == 1
    assert [e[:2] for e in events(hooks.db, b)] == [("complain", "ses")]
    assert state(hooks.db, b)[0] == "unsubscribed" and suppressed(hooks.db, b) == ["complaint"]

    delivery = hooks.sns.notification(payloads.ses_delivery(c.email, message_id=c.message_id))
    assert post(hooks.client, "ses", delivery).json()["deliveries"] == 1
    assert post(hooks.client, "ses", delivery).json()["duplicates"] == 1
    ((provider, _, detail),) = deliveries(hooks.db, c)
    assert provider == "ses" and detail.startswith("250 ok")
    assert events(hooks.db, c) == [] and state(hooks.db, c)[0] == "pending"


def test_ses_soft_bounce_by_campaign_tag_does_not_suppress(hooks):
    (a,) = recipients(hooks.db, 1)
    soft = payloads.ses_bounce(a.email, campaign=a.campaign, permanent=False, event_publishing=True)
    answer = post(hooks.client, "ses", hooks.sns.notification(soft))
    assert answer.status_code == 200 and answer.json()["recorded"] == 1
    assert events(hooks.db, a)[0][3]["bounce_type"] == "soft"
    assert state(hooks.db, a)[0] == "bounced" and suppressed(hooks.db, a) == []


def test_ses_refusals_write_nothing(hooks):
    (a,) = recipients(hooks.db, 1)
    before = totals(hooks.db)
    good = hooks.sns.notification(payloads.ses_bounce(a.email, message_id=a.message_id))
    tampered = dict(good, Message=good["Message"].replace("Permanent", "Transient"))
    assert post(hooks.client, "ses", tampered).status_code == 403
    elsewhere = hooks.sns.sign(dict(good, SigningCertURL="https://attacker.example/x.pem"))
    answer = post(hooks.client, "ses", elsewhere)
    assert answer.status_code == 403 and "SNS host" in answer.json()["error"]
    assert post(hooks.client, "ses", b"{not json").status_code == 400
    assert (
        post(hooks.client, "ses", hooks.sns.confirmation())
        .json()["note"]
        .startswith("subscription confirmation logged")
    )
    assert post(hooks.client, "ses", hooks.sns.confirmation("UnsubscribeConfirmation")).is_success
    assert totals(hooks.db) == before and events(hooks.db, a) == []


# --- SendGrid ----------------------------------------------------------------------------


def test_sendgrid_batch_valid_replayed_and_invalid(hooks):
    a, b, c = recipients(hooks.db)
    batch = [
        payloads.sendgrid_event("bounce", a.email, **{"smtp-id": a.message_id}),
        payloads.sendgrid_event("spamreport", b.email, cc_campaign=b.campaign),
        payloads.sendgrid_event("delivered", c.email, cc_campaign=c.campaign),
        payloads.sendgrid_event("deferred", c.email, cc_campaign=c.campaign),
        payloads.sendgrid_event("bounce", "someone@elsewhere.example"),  # not a message of ours
    ]
    body = json.dumps(batch).encode()
    before = totals(hooks.db)
    for bad in (
        hooks.sendgrid.headers(body + b" "),  # signed another body
        SendGrid().headers(body),  # another key
        hooks.sendgrid.headers(body, timestamp=1_700_000_000),  # stale
        {"Content-Type": "application/json"},  # unsigned
    ):
        answer = post(hooks.client, "sendgrid", body, **bad)
        assert answer.status_code in (401, 403), answer.text
    assert totals(hooks.db) == before

    headers = hooks.sendgrid.headers(body)
    answer = post(hooks.client, "sendgrid", body, **headers)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["recorded"], result["deliveries"], result["duplicates"]) == (2, 1, 0)
    assert [s["event"] for s in result["skipped"]] == [4, 5]
    ((kind, source, key, data),) = events(hooks.db, a)
    assert (kind, source, key) == ("bounce", "sendgrid", f"sendgrid:{batch[0]['sg_event_id']}")
    assert data["bounce_type"] == "hard" and suppressed(hooks.db, a) == ["hard_bounce"]
    assert events(hooks.db, b)[0][:2] == ("complain", "sendgrid")
    assert suppressed(hooks.db, b) == ["complaint"]
    assert deliveries(hooks.db, c)[0][:2] == ("sendgrid", batch[2]["sg_event_id"])

    # Replayed within the window: stored once.
    replay = post(hooks.client, "sendgrid", body, **headers).json()
    assert (replay["recorded"], replay["deliveries"], replay["duplicates"]) == (0, 0, 3)
    assert len(events(hooks.db, a)) == 1 and len(deliveries(hooks.db, c)) == 1


def test_sendgrid_unknown_recipient_refuses_the_whole_batch(hooks):
    (a,) = recipients(hooks.db, 1)
    batch = [
        payloads.sendgrid_event("bounce", a.email, **{"smtp-id": a.message_id}),
        payloads.sendgrid_event("bounce", "nobody@example.com", cc_campaign=a.campaign),
        payloads.sendgrid_event("bounce", a.email, **{"smtp-id": f"<cc.{a.campaign_pk}.999999@x>"}),
    ]
    body = json.dumps(batch).encode()
    before = totals(hooks.db)
    answer = post(hooks.client, "sendgrid", body, **hooks.sendgrid.headers(body))
    assert answer.status_code == 422
    error = answer.json()
    assert "Nothing was recorded" in error["error"] and "999999" in error["error"]
    assert any("nobody@example.com" in d for d in error["details"])
    assert totals(hooks.db) == before and events(hooks.db, a) == []

    bad_json = b"[{"
    answer = post(hooks.client, "sendgrid", bad_json, **hooks.sendgrid.headers(bad_json))
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]


# --- Mailgun -----------------------------------------------------------------------------


def test_mailgun_valid_replayed_token_duplicate_and_invalid(hooks):
    a, b = recipients(hooks.db, 2)
    event = payloads.mailgun_event("failed", a.email, message_id=a.message_id)
    body = hooks.mailgun.body(event)
    answer = post(hooks.client, "mailgun", body)
    assert answer.status_code == 200 and answer.json()["recorded"] == 1, answer.text
    ((kind, source, key, data),) = events(hooks.db, a)
    assert (kind, source, key) == ("bounce", "mailgun", f"mailgun:{event['id']}")
    assert data["error_message"] == "5.1.1 No such user" and suppressed(hooks.db, a)

    replay = post(hooks.client, "mailgun", body)
    assert replay.status_code == 401 and "already used" in replay.json()["error"]
    resent = post(hooks.client, "mailgun", hooks.mailgun.body(event))  # a new signature
    assert resent.json()["duplicates"] == 1 and len(events(hooks.db, a)) == 1

    before = totals(hooks.db)
    complaint = payloads.mailgun_event(
        "complained", b.email, **{"user-variables": {"cc_campaign": b.campaign}}
    )
    forged = {"signature": Mailgun().signature(), "event-data": complaint}
    assert post(hooks.client, "mailgun", forged).status_code == 403
    stale = hooks.mailgun.body(complaint, timestamp=1_700_000_000)
    assert post(hooks.client, "mailgun", stale).status_code == 401
    assert post(hooks.client, "mailgun", b"not json").status_code == 400
    assert totals(hooks.db) == before
    assert post(hooks.client, "mailgun", hooks.mailgun.body(complaint)).json()["recorded"] == 1
    assert state(hooks.db, b)[0] == "unsubscribed"


def test_mailgun_unknown_recipient_gives_the_token_back(hooks):
    (a,) = recipients(hooks.db, 1)
    event = payloads.mailgun_event(
        "failed", "ghost@example.com", **{"user-variables": {"cc_campaign": a.campaign}}
    )
    body = hooks.mailgun.body(event)
    before = totals(hooks.db)
    assert post(hooks.client, "mailgun", body).status_code == 422
    again = post(hooks.client, "mailgun", body)  # not taken for a replay: it wasn't recorded
    assert again.status_code == 422, again.text
    assert totals(hooks.db) == before


# --- Postmark ----------------------------------------------------------------------------


def test_postmark_valid_and_invalid_credentials(hooks):
    a, b = recipients(hooks.db, 2)
    bounce = payloads.postmark_bounce(a.email, a.campaign)
    before = totals(hooks.db)
    for headers in (
        basic("hook", "wrong"),
        basic("other", POSTMARK[1]),
        {"Content-Type": "application/json"},
    ):
        answer = post(hooks.client, "postmark", bounce, **headers)
        assert answer.status_code == 401 and "WWW-Authenticate" in answer.headers
    assert totals(hooks.db) == before

    auth = basic(*POSTMARK)
    answer = post(hooks.client, "postmark", bounce, **auth)
    assert answer.status_code == 200 and answer.json()["recorded"] == 1, answer.text
    ((kind, source, key, data),) = events(hooks.db, a)
    assert (kind, source, key) == ("bounce", "postmark", f"postmark:bounce:{bounce['ID']}")
    assert data["bounce_type"] == "hard" and suppressed(hooks.db, a) == ["hard_bounce"]
    assert post(hooks.client, "postmark", bounce, **auth).json()["duplicates"] == 1

    change = payloads.postmark_record("SubscriptionChange", b.email, b.campaign)
    assert post(hooks.client, "postmark", change, **auth).json()["recorded"] == 1
    assert events(hooks.db, b)[0][:2] == ("unsubscribe", "postmark")
    assert suppressed(hooks.db, b) == ["unsubscribe"]
    delivery = payloads.postmark_record("Delivery", b.email, b.campaign)
    assert post(hooks.client, "postmark", delivery, **auth).json()["deliveries"] == 1

    unknown = payloads.postmark_bounce("ghost@example.com", a.campaign)
    before = totals(hooks.db)
    answer = post(hooks.client, "postmark", unknown, **auth)
    assert answer.status_code == 422 and "ghost@example.com" in answer.json()["error"]
    lost = payloads.postmark_record("Delivery", "ghost@example.com", a.campaign)
    answer = post(hooks.client, "postmark", lost, **auth)
    assert answer.status_code == 422 and "ghost@example.com" in answer.json()["error"]
    assert post(hooks.client, "postmark", b"{", **auth).status_code == 400
    assert totals(hooks.db) == before


# --- limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["ses", "sendgrid", "mailgun", "postmark"])
def test_bodies_over_one_megabyte_are_refused(hooks, provider):
    before = totals(hooks.db)
    big = b"[" + b" " * (1024 * 1024) + b"]"
    headers = {"sendgrid": hooks.sendgrid.headers(big), "postmark": basic(*POSTMARK)}
    answer = post(hooks.client, provider, big, **headers.get(provider, {}))
    assert answer.status_code == 413 and "1,048,576 bytes" in answer.json()["error"]
    assert totals(hooks.db) == before


def test_a_chunked_body_is_cut_off_at_one_megabyte(hooks):
    before = totals(hooks.db)

    def chunks():
        for _ in range(40):
            yield b" " * 64 * 1024  # 2.5 MiB in all, no Content-Length

    answer = hooks.client.post(
        "/api/v1/webhooks/postmark", content=chunks(), headers=basic(*POSTMARK)
    )
    assert answer.status_code == 413
    assert totals(hooks.db) == before


def test_unknown_path_and_method(hooks):
    assert hooks.client.get("/api/v1/webhooks/ses").status_code == 405
    assert post(hooks.client, "other", b"{}").status_code == 404


def test_secrets_never_in_the_log_or_answers(hooks):
    answer = post(hooks.client, "postmark", {"RecordType": "Bounce"}, **basic("hook", "guess"))
    assert answer.status_code == 401
    assert POSTMARK[1] not in answer.text and "guess" not in answer.text
    logged = hooks.log.read_text()
    assert "refused" in logged  # the refusals of the tests before are there
    for secret in (POSTMARK[1], hooks.mailgun.key.decode(), "guess"):
        assert secret not in logged


# --- the database away, providers not configured -----------------------------------------


@pytest.mark.slow
def test_database_away_answers_503_then_records(own_server, tmp_path):
    url = own_server.new_database("cc_wh_away")
    db = Database(url)
    (a,) = recipients(db, 1)
    env = {
        "DATABASE_URL": url,
        CERT_ENV: str(tmp_path / "none.pem"),
        SPOOL_ENV: str(tmp_path / "spool"),
        ENV_POSTMARK_AUTH: ":".join(POSTMARK),
    }
    bounce = payloads.postmark_bounce(a.email, a.campaign)
    try:
        with webhook_server(env, tmp_path / "server.log") as client:
            for provider in ("sendgrid", "mailgun"):
                answer = post(client, provider, b"[]")
                assert answer.status_code == 404 and "not configured" in answer.json()["error"]
            own_server.stop()
            try:
                away = post(client, "postmark", bounce, **basic(*POSTMARK))
                assert away.status_code == 503 and away.headers["Retry-After"]
                assert "unavailable" in away.json()["error"]
            finally:
                own_server.start()
            back = post(client, "postmark", bounce, **basic(*POSTMARK))
            assert back.status_code == 200 and back.json()["recorded"] == 1, back.text
        assert [e[:2] for e in events(db, a)] == [("bounce", "postmark")]
    finally:
        db.close()
