"""A small ASGI app serving only the webhook routes, for `uvicorn --factory` in the tests:
the database from DATABASE_URL, the secrets from the environment as in production, and the
SNS certificate read from the file CC_TEST_SNS_CERT (the tests' own) instead of fetched."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from starlette.applications import Starlette

from core.endpoint.webhooks import WebhookConfig, routes
from core.store import Database

CERT_ENV = "CC_TEST_SNS_CERT"


def create() -> Starlette:
    db = Database(os.environ["DATABASE_URL"])
    cert = Path(os.environ[CERT_ENV])
    config = dataclasses.replace(
        WebhookConfig.from_env(), fetch_certificate=lambda url: cert.read_bytes()
    )
    return Starlette(routes=routes(db, config))
