"""The endpoint's ASGI app: create_app(settings), a factory (uvicorn's --workers start one per
process), and its routes.

    GET  /healthz                                     200 {"database": "ok"} or 503
    GET  /metrics                                     Prometheus text (core.endpoint.metrics)
    GET  {TRACK_PREFIX}/{token}/open                  the pixel, always (a hit: good token)
    GET  {TRACK_PREFIX}/{token}/click/{position}      302 to the campaign's own link, else 404
    GET  {TRACK_PREFIX}/{token}/unsubscribe           a page with a button (writes nothing:
                                                      mail scanners fetch links)
    POST {TRACK_PREFIX}/{token}/unsubscribe           List-Unsubscribe=One-Click (RFC 8058), or the
                                                      page's own form: unsubscribes at once
    POST /api/v1/webhooks/{ses,sendgrid,mailgun,postmark}   core.endpoint.webhooks

Tokens are checked with the keyring in memory (core.tracking.verify), so a forged one costs
no database read. A refused token writes nothing and answers as a good one would where an
answer could tell them apart (the pixel), else a plain 404 page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

import core.endpoint.pages as pages
from core.endpoint.hits import Hit
from core.endpoint.metrics import CONTENT_TYPE
from core.endpoint.proxy import client_ip
from core.endpoint.settings import EndpointSettings
from core.endpoint.state import Endpoint
from core.endpoint.webhooks import WebhookConfig
from core.endpoint.webhooks import routes as webhook_routes
from core.endpoint.writer import WriteFailed
from core.tracking import TRACK_PREFIX, Claim, env_secret, verify

log = logging.getLogger("core.endpoint")

MAX_FORM_BYTES = 16 * 1024
MAX_POSITION = 0xFFFF  # a link position is a u16 in the token


def check_environment() -> None:
    """Refuse (InvalidInput, naming the variable, never its value) a tracking key or a
    webhook secret in the environment that can't be used, before anything starts."""
    env_secret()
    WebhookConfig.from_env()


def create_app(settings: EndpointSettings, webhooks: WebhookConfig | None = None) -> Starlette:
    """The app; the providers' webhooks configured from the environment unless given."""
    endpoint = Endpoint(settings)

    def verified(token: str, kind: str, link: int | None = None) -> Claim | None:
        ring = endpoint.ring
        found = verify(ring, token, link=link) if ring is not None else None
        if found is None and ring is not None:
            endpoint.metrics.refuse(kind)
        return found

    def claim(request: Request, kind: str, link: int | None = None) -> Claim | None:
        return verified(request.path_params["token"], kind, link)

    def new_hit(scope: Scope, kind: str, c: Claim, source: str, data: Any = None) -> Hit:
        client = scope.get("client")
        agent = None
        forwarded: list[str] = []
        for name, value in scope["headers"]:  # as Starlette's Headers read them: latin-1
            if name == b"user-agent" and agent is None:
                agent = value.decode("latin-1")
            elif name == b"x-forwarded-for" and settings.trusted_proxies:
                forwarded.append(value.decode("latin-1"))
        ip = client_ip(client[0] if client else None, forwarded, settings.trusted_proxies)
        return Hit.new(kind, c.recipient_id, source, datetime.now(UTC), agent, ip, data)

    def hit(request: Request, kind: str, c: Claim, source: str, data: Any = None) -> Hit:
        return new_hit(request.scope, kind, c, source, data)

    async def record(h: Hit, c: Claim) -> bool:
        try:
            await endpoint.record(h)
            return True
        except WriteFailed:
            return False
        except Exception:  # per-hit writes: the database is away
            log.exception("a hit could not be written")
            endpoint.metrics.hit(h.kind, "failed")
            return False

    async def healthz(request: Request) -> Response:
        spool = endpoint.metrics.spool_depth
        try:
            await asyncio.to_thread(endpoint.db.ping)
        except Exception:
            return JSONResponse({"database": "unavailable", "spool_depth": spool}, 503)
        return JSONResponse({"database": "ok", "spool_depth": spool})

    async def metrics(request: Request) -> Response:
        return Response(endpoint.metrics.render(), media_type=CONTENT_TYPE)

    async def open_hit(scope: Scope, token: str) -> Response:
        if endpoint.ring is None:
            return pages.unavailable()
        c = verified(token, "open")
        if c is None or scope["method"] == "HEAD":
            return pages.pixel()
        if not await record(new_hit(scope, "open", c, "pixel"), c):
            return Response(status_code=503, headers=pages.NO_STORE)
        return pages.pixel()

    async def click(request: Request) -> Response:
        if endpoint.ring is None:
            return pages.unavailable()
        position: int = request.path_params["position"]
        if position > MAX_POSITION:
            return pages.not_found()
        c = claim(request, "click", position)
        if c is None:
            return pages.not_found()
        try:
            url = await endpoint.link(c.campaign_pk, position)
        except Exception:
            return pages.unavailable()  # the database is away and the link not cached
        if url is None:
            return pages.not_found()
        if request.method != "HEAD":
            data = {"link_url": url, "link_index": position}
            if not await record(hit(request, "click", c, "link", data), c):
                return pages.unavailable()
        return pages.redirect(url)

    async def unsubscribe(request: Request) -> Response:
        if endpoint.ring is None:
            return pages.unavailable()
        c = claim(request, "unsubscribe")
        if c is None:
            return pages.not_found()
        if request.method != "POST":
            return pages.confirm_unsubscribe()
        source = await _unsubscribe_source(request)
        if source is None:
            return pages.bad_request("Use the Unsubscribe button on the previous page.")
        method = "one-click" if source == "one-click" else "page"
        if not await record(hit(request, "unsubscribe", c, source, {"method": method}), c):
            return pages.unavailable()
        return pages.unsubscribed()

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            return Response(status_code=405, headers=pages.NO_STORE)
        return pages.not_found()

    track = f"{TRACK_PREFIX}/{{token}}"
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        # Only other methods get here (a 405): Endpoint.__call__ answers GET and HEAD.
        Route(f"{track}/open", _OpenRoute(open_hit), methods=["GET"]),
        Route(f"{track}/click/{{position:int}}", click, methods=["GET"]),
        Route(f"{track}/unsubscribe", unsubscribe, methods=["GET", "POST"]),
        *webhook_routes(endpoint.db, webhooks or WebhookConfig.from_env()),
    ]
    return _App(
        open_hit,
        routes=routes,
        lifespan=endpoint.lifespan,
        exception_handlers={404: not_found, 405: not_found},
    )


_OpenHandler = Callable[[Scope, str], Awaitable[Response]]
_OPEN_START, _OPEN_END = f"{TRACK_PREFIX}/", "/open"


class _App(Starlette):
    """The app, with the pixel (nearly every request it gets) answered before Starlette's
    middleware and router: its GET and HEAD need no Request, no routing, no exception
    wrapping, and skipping them is a good part of each hit's time in this process."""

    def __init__(self, open_hit: _OpenHandler, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._open_hit = open_hit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            token = open_token(scope)
            if token is not None:
                response = await self._open_hit(scope, token)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def open_token(scope: Scope) -> str | None:
    """The token of a pixel's path ({TRACK_PREFIX}/{token}/open, as its Route matches it:
    a token is one path segment), else None."""
    path = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if not (path.startswith(_OPEN_START) and path.endswith(_OPEN_END)):
        return None
    token = path[len(_OPEN_START) : -len(_OPEN_END)]
    return token if token and "/" not in token else None


class _OpenRoute:
    """The pixel's route as an ASGI app (Starlette calls it with path_params in the scope)."""

    def __init__(self, open_hit: _OpenHandler) -> None:
        self._open_hit = open_hit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._open_hit(scope, scope["path_params"]["token"])
        await response(scope, receive, send)


async def _unsubscribe_source(request: Request) -> str | None:
    """one-click for RFC 8058's List-Unsubscribe=One-Click, unsubscribe-page for the page's
    form, None for anything else (the body read up to MAX_FORM_BYTES)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        # RFC 8058 allows it; the one field is all there is to find.
        one_click = b'name="List-Unsubscribe"' in body and b"One-Click" in body
        return "one-click" if one_click else None
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if "One-Click" in form.get("List-Unsubscribe", []):
        return "one-click"
    if "yes" in form.get("confirm", []):
        return "unsubscribe-page"
    return None


def app_from_env() -> Starlette:
    """The factory uvicorn's worker processes call: settings from the environment."""
    return create_app(EndpointSettings.from_env())
