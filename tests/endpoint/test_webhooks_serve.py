"""The webhooks as `campaigns serve` answers them: the product's own process, its secrets from
the environment, each provider with a valid and an invalid signature, the database checked.
(test_webhooks_server.py drives every case; this one proves the served app carries them.)"""

from __future__ import annotations

import httpx
import pytest

from core.endpoint.webhooks.config import (
    ENV_MAILGUN_SIGNING_KEY,
    ENV_POSTMARK_AUTH,
    ENV_SENDGRID_PUBLIC_KEY,
)
from tests.endpoint import payloads
from tests.endpoint.server import start_server
from tests.endpoint.signing import Mailgun, SendGrid, Sns, basic
from tests.endpoint.webhook_db import events, post, recipients, suppressed, totals


@pytest.mark.slow
def test_campaigns_serve_verifies_and_records_each_provider(
    module_db, module_db_url, tmp_path, monkeypatch
):
    sendgrid, mailgun = SendGrid(), Mailgun()
    monkeypatch.setenv(ENV_SENDGRID_PUBLIC_KEY, sendgrid.public_b64)
    monkeypatch.setenv(ENV_MAILGUN_SIGNING_KEY, mailgun.key.decode())
    monkeypatch.setenv(ENV_POSTMARK_AUTH, "hook:serve-secret")
    a, b, c = recipients(module_db, 3)
    batch = [payloads.sendgrid_event("bounce", a.email, **{"smtp-id": a.message_id})]
    body = httpx.Request("POST", "/", json=batch).read()
    failed = payloads.mailgun_event("failed", b.email, message_id=b.message_id)
    bounce = payloads.postmark_bounce(c.email, c.campaign)
    forged_sns = Sns().notification(payloads.ses_bounce(a.email, message_id=a.message_id))
    forged_sns["SigningCertURL"] = "https://attacker.example/cert.pem"

    server = start_server(module_db_url, tmp_path / "spool")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            before = totals(module_db)
            refused = [
                post(client, "sendgrid", body, **SendGrid().headers(body)),
                post(client, "mailgun", {"signature": Mailgun().signature(), "event-data": failed}),
                post(client, "postmark", bounce, **basic("hook", "wrong")),
                post(client, "ses", forged_sns),
            ]
            assert [r.status_code for r in refused] == [403, 403, 401, 403]
            assert totals(module_db) == before

            assert post(client, "sendgrid", body, **sendgrid.headers(body)).json()["recorded"] == 1
            assert post(client, "mailgun", mailgun.body(failed)).json()["recorded"] == 1
            answer = post(client, "postmark", bounce, **basic("hook", "serve-secret"))
            assert answer.json()["recorded"] == 1
    finally:
        assert server.stop() == 0, server.stderr()
    for r, provider in ((a, "sendgrid"), (b, "mailgun"), (c, "postmark")):
        assert [e[:2] for e in events(module_db, r)] == [("bounce", provider)]
        assert suppressed(module_db, r) == ["hard_bounce"]
    assert "serve-secret" not in server.stderr()
