"""The corpus (data/urls.txt: 1,204 URLs with tracking parameters, percent-encoding, brackets,
fragments, IDN hosts and long queries) written into one template, rendered for a recipient,
and every click URL followed through a real `campaigns serve` process: each redirect gives
back its URL byte for byte (an ASCII one exactly; one with other characters as its URI: IDNA
host, UTF-8 percent-encoded), and campaign_links holds each original exactly."""

from __future__ import annotations

import asyncio
import html
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from core import messages, tracking
from core.endpoint.pages import location
from tests.endpoint.server import start_server
from tests.factories import make_campaign, make_recipients

CORPUS = Path(__file__).with_name("data") / "urls.txt"


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch):
    monkeypatch.delenv(tracking.ENV_KEY, raising=False)


def corpus() -> list[str]:
    return CORPUS.read_text(encoding="utf-8").splitlines()


async def _follow(urls: list[str]) -> list[tuple[int, str | None]]:
    """Each URL's status and Location, 32 requests at a time (the writer commits in groups)."""
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as client:

        async def one(url: str) -> tuple[int, str | None]:
            async with gate:
                answer = await client.get(url)
                return answer.status_code, answer.headers.get("location")

        return await asyncio.gather(*(one(u) for u in urls))


def test_corpus_size_and_variety():
    urls = corpus()
    assert len(urls) >= 1000 and len(set(urls)) == len(urls)
    assert sum("[" in u.split("?", 1)[-1] for u in urls) > 100
    assert sum("#" in u for u in urls) > 100
    assert sum("%" in u for u in urls) > 300
    assert sum(not u.isascii() for u in urls) > 100
    assert sum("xn--" in u for u in urls) > 20
    assert max(len(u) for u in urls) > 2000


def test_every_url_comes_back_through_the_endpoint(db, db_url, tmp_path):
    urls = corpus()
    body = "\n".join(f'<p><a href="{html.escape(u)}">link {i}</a></p>' for i, u in enumerate(urls))
    with db.transaction() as s:
        t = messages.add_template(
            s, name="Corpus", subject="All links", html_body=f"<html><body>{body}</body></html>"
        )
        c = make_campaign(s, "camp_corpus", status="running", template_id=t.id)
        sent = s.execute(text("SELECT now() - interval '1 hour'")).scalar_one()
        make_recipients(s, c, 1, status="sent", sent_at=sent)
        pk = c.id
        address = s.execute(text("SELECT email_address FROM campaign_recipients")).scalar_one()
    db.run(tracking.load_keyring)  # the key exists before the server reads it
    server = start_server(db_url, tmp_path / "spool")
    try:
        db.run(lambda s: tracking.set_public_url(s, server.url))
        msg = db.run(lambda s: messages.message_for(s, "camp_corpus", address))
        _, part = messages.parts(msg)
        tracked = messages.to_text(part)[1]  # every href, tracked ones included
        assert len(tracked) == len(urls)
        assert all(u.startswith(f"{server.url}{tracking.TRACK_PREFIX}/") for u in tracked)
        with db.reading() as s:
            saved = dict(tracking.campaign_links(s, pk))
        assert [saved[int(u.rsplit("/", 1)[1])] for u in tracked] == urls  # byte for byte
        answers = asyncio.run(_follow(tracked))
        wrong = [
            (original, status, got)
            for original, (status, got) in zip(urls, answers, strict=True)
            if status != 302
            or got != location(original)
            or (original.isascii() and got != original)
        ]
        assert wrong == []
    finally:
        assert server.stop() == 0, server.stderr()
    with db.reading() as s:
        clicks = s.execute(text("SELECT count(*) FROM email_tracking WHERE event_type = 'click'"))
        assert clicks.scalar_one() == len(urls)
