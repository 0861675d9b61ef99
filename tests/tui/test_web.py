"""`campaigns web` on a free loopback port against the test database: a tab in headless
Chromium (Debian's, driven by Playwright) shows the campaigns screen, Enter opens a campaign's
recipients; without the token nothing is served and no app process starts; the tab past
--max-sessions gets a page that says so; an idle tab is closed and its app ends."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import psycopg
import pytest

from tests.tui.web_process import CHROMIUM_ARGS, Tab, campaigns_web, chromium, gone

pytestmark = pytest.mark.slow
SHOTS = Path(__file__).parent / "__snapshots__" / "web"


def _connections(url: str) -> int:
    """Backends on the test's database other than this query's own."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _rows_above(screen: str, name: str) -> int:
    """How many rows of the campaigns table come before the campaign named `name`."""
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if "Campaign id" in line)
    return next(i for i, line in enumerate(lines[header + 1 :]) if name in line)


def test_a_tab_shows_the_campaigns_and_enter_opens_the_recipients(db, ids, tmp_path):
    from playwright.sync_api import sync_playwright

    browser = chromium()
    db.close()  # its pooled connections: only the tab's count below
    SHOTS.mkdir(parents=True, exist_ok=True)
    with campaigns_web(db.url) as web, sync_playwright() as playwright:
        assert web.apps() == []  # nothing runs before a tab opens
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "profile",
            executable_path=browser,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1000, "height": 600},
        )
        page = context.new_page()
        tab = Tab(page)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        response = page.goto(f"{web.url}?token={web.token}")
        assert response is not None and response.status == 200
        assert "token" not in page.url  # moved into a cookie, off the address bar

        screen = tab.wait_for("Campaign id", "Spring launch", "camp_done")
        page.screenshot(path=str(SHOTS / "campaigns.png"))
        web.wait_line(r"tab opened, app pid \d+ \(127\.0\.0\.1\); 1 of 5 open")
        [app] = web.apps()
        assert db.url not in " ".join(app.cmdline())  # the URL reached it in its environment
        assert app.environ()["DATABASE_URL"] == db.url
        assert app.environ().get("CAMPAIGN_CONSOLE_WEB_PASSWORD") is None
        assert _connections(db.url) >= 1  # the app's pool and its change feed (README: 3)

        page.focus(".xterm-helper-textarea")  # the keys go to the terminal
        for _ in range(_rows_above(screen, "Spring launch")):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        screen = tab.wait_for("esc Back", "Email", "ana@example.com")
        page.screenshot(path=str(SHOTS / "recipients.png"))
        assert "Spring launch" in screen.splitlines()[0]  # the title names the campaign
        assert "Campaign id" not in screen

        origin = web.url.removeprefix("http://")
        assert {u.split("://", 1)[1].startswith(origin) for u in requested} == {True}, requested
        context.close()  # the tab goes: its app and its connections with it
        web.wait_line(r"tab closed, app pid \d+ ended \(127\.0\.0\.1\); 0 of 5 open")
        assert gone(app)
        assert _connections(db.url) == 0


async def test_no_token_no_app_and_the_limits(db, ids):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        limits = ("--max-sessions", "1", "--idle-timeout", "4s")
        with campaigns_web(db.url, "--read-only", *limits) as web:
            for path in ("", "ws", "static/js/textual.js", "?token=not-it"):
                async with client.get(web.url + path) as response:
                    assert response.status == 403, path
            async with client.get(web.url) as response:
                assert "needs its token" in await response.text()
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect(f"{web.url}ws?width=80&height=24")
            assert refused.value.status == 403
            assert web.apps() == []
            assert client.cookie_jar.filter_cookies(web.url) == {}

            query = f"token={web.token}&width=80&height=24"
            websocket = await client.ws_connect(f"{web.url}ws?{query}")
            first = await websocket.receive(timeout=30)
            assert first.type == aiohttp.WSMsgType.BINARY  # the app paints
            [app] = web.apps()
            assert app.cmdline()[-3:] == ["-m", "tui.cli", "--read-only"]

            # A second tab, past --max-sessions 1: a page that says so, no second app.
            async with client.get(f"{web.url}?token={web.token}") as response:
                assert response.status == 503
                assert "allows 1 session at once" in await response.text()
            assert web.apps() == [app]

            # No input for 4 s: the tab is closed and its app ends.
            closing = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            while (await websocket.receive(timeout=30)).type not in closing:
                pass  # the app's frames
            assert websocket.close_code == 4000
            web.wait_line(r"tab closed for idleness, app pid \d+ ended")
            assert gone(app)
            async with client.get(web.url) as response:  # the cookie it earned lets it in
                assert response.status == 200
