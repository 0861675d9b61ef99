"""The endpoint's own app (core.endpoint.create_app) for `uvicorn --factory` in the webhook
tests, with one thing injected: the SNS certificate is read from the file CC_TEST_SNS_CERT
(the tests' own) instead of fetched. The database comes from DATABASE_URL, the secrets from
the environment, as in production."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from starlette.applications import Starlette

from core.endpoint import EndpointSettings, create_app
from core.endpoint.webhooks import WebhookConfig

CERT_ENV = "CC_TEST_SNS_CERT"
SPOOL_ENV = "CC_TEST_SPOOL"


def create() -> Starlette:
    cert = Path(os.environ[CERT_ENV])
    config = dataclasses.replace(
        WebhookConfig.from_env(), fetch_certificate=lambda url: cert.read_bytes()
    )
    settings = EndpointSettings(
        database_url=os.environ["DATABASE_URL"], spool_dir=Path(os.environ[SPOOL_ENV])
    )
    return create_app(settings, config)
