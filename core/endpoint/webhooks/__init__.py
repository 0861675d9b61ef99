"""The mail providers' webhooks: POST /api/v1/webhooks/{ses,sendgrid,mailgun,postmark}.

Each request is verified the way its provider signs it (core.endpoint.webhooks.sns, sendgrid,
mailgun, postmark), parsed into ProviderEvents and written in one transaction
(core.endpoint.webhooks.record). Answers: 200 with what was recorded; 400 bad JSON or a body
not in the provider's shape; 401/403 unsigned or a signature that doesn't match; 404 a
provider that is not configured; 413 a body over 1 MiB; 422 an event of ours naming a
recipient that is not in the database; 503 the database is away (the provider retries).
Nothing is written for any refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.endpoint.webhooks import mailgun, postmark, sendgrid, ses, sns
from core.endpoint.webhooks.common import Parsed, Refusal, need_object, parse_json, read_body
from core.endpoint.webhooks.config import WebhookConfig
from core.endpoint.webhooks.record import store
from core.store import Database

__all__ = ["PREFIX", "WebhookConfig", "Webhooks", "routes"]

PREFIX = "/api/v1/webhooks"
log = logging.getLogger("core.endpoint.webhooks")


class Webhooks:
    """The four endpoints over one database and config; holds the SNS certificate cache and
    Mailgun's token cache, so one instance serves the process."""

    def __init__(self, db: Database, config: WebhookConfig):
        self.db, self.config = db, config
        self.certificates = sns.Certificates(config.fetch_certificate, config.clock)
        self.tokens = mailgun.TokenCache()

    async def _answer(
        self, provider: str, request: Request, work: Callable[[bytes], Awaitable[Response]]
    ) -> Response:
        if not self.config.configured[provider]:
            return JSONResponse(
                {"error": f"The {provider} webhook is not configured on this server."},
                status_code=404,
            )
        try:
            return await work(await read_body(request))
        except Refusal as refusal:
            log.warning("%s webhook refused (%d): %s", provider, refusal.status, refusal.message)
            response = refusal.response()
            if provider == "postmark" and refusal.status == 401:
                response.headers.update(postmark.CHALLENGE)
            return response

    async def ses(self, request: Request) -> Response:
        async def work(body: bytes) -> Response:
            message = need_object(parse_json(body), "An SNS message")
            sns.check_type_header(message, request.headers.get(sns.TYPE_HEADER))
            await run_in_threadpool(
                sns.verify, message, self.certificates.key, self.config.ses_topic_arns
            )
            kind = message["Type"]
            if kind == sns.NOTIFICATION:
                parsed = ses.parse(message["Message"], str(message.get("MessageId")))
                return await store(self.db, parsed)
            return await store(self.db, await self._confirmation(message))

        return await self._answer("ses", request, work)

    async def _confirmation(self, message: dict[str, object]) -> Parsed:
        url, topic = message.get("SubscribeURL"), message.get("TopicArn")
        if message["Type"] == sns.SUBSCRIBE and self.config.confirm_subscription is not None:
            try:
                await run_in_threadpool(self.config.confirm_subscription, str(url))
            except Exception as exc:
                raise Refusal(
                    503, f"Could not confirm the SNS subscription ({type(exc).__name__})."
                ) from None
            log.info("SNS subscription to %s confirmed", topic)
            return Parsed(note="subscription confirmed")
        if message["Type"] == sns.SUBSCRIBE:
            # Not fetched by default: the operator opens the URL (it is in the log) to confirm.
            log.warning("SNS subscription to %s awaits confirmation: open %s", topic, url)
            return Parsed(note="subscription confirmation logged; open its SubscribeURL")
        log.warning("SNS unsubscribed this endpoint from %s", topic)
        return Parsed(note="unsubscribe confirmation logged")

    async def sendgrid(self, request: Request) -> Response:
        async def work(body: bytes) -> Response:
            key = self.config.sendgrid_public_key
            assert key is not None  # configured
            sendgrid.verify(
                key,
                body,
                request.headers.get(sendgrid.SIGNATURE_HEADER),
                request.headers.get(sendgrid.TIMESTAMP_HEADER),
                now=self.config.clock(),
                max_age=self.config.max_age_seconds,
            )
            return await store(self.db, sendgrid.parse(parse_json(body)))

        return await self._answer("sendgrid", request, work)

    async def mailgun(self, request: Request) -> Response:
        async def work(body: bytes) -> Response:
            key = self.config.mailgun_signing_key
            assert key is not None  # configured
            payload = need_object(parse_json(body), "A Mailgun webhook body")
            token = mailgun.verify(
                key,
                payload.get("signature"),
                now=self.config.clock(),
                max_age=self.config.max_age_seconds,
                tokens=self.tokens,
            )
            try:
                return await store(self.db, mailgun.parse(payload))
            except BaseException:
                self.tokens.release(token)  # not recorded: Mailgun's retry is no replay
                raise

        return await self._answer("mailgun", request, work)

    async def postmark(self, request: Request) -> Response:
        async def work(body: bytes) -> Response:
            expected = self.config.postmark_auth
            assert expected is not None  # configured
            postmark.verify(expected, request.headers.get("authorization"))
            return await store(self.db, postmark.parse(parse_json(body)))

        return await self._answer("postmark", request, work)


def routes(db: Database, config: WebhookConfig) -> list[Route]:
    """The webhook routes for an app (core.endpoint.app includes them)."""
    hooks = Webhooks(db, config)
    return [
        Route(f"{PREFIX}/ses", hooks.ses, methods=["POST"], name="webhook-ses"),
        Route(f"{PREFIX}/sendgrid", hooks.sendgrid, methods=["POST"], name="webhook-sendgrid"),
        Route(f"{PREFIX}/mailgun", hooks.mailgun, methods=["POST"], name="webhook-mailgun"),
        Route(f"{PREFIX}/postmark", hooks.postmark, methods=["POST"], name="webhook-postmark"),
    ]
