"""What a `campaigns web` tab costs: its app process's memory (RSS, and USS: the pages that are
its own) and its database connections (pg_stat_activity by application_name), for 1 to TABS
tabs, each having opened a campaign's recipients and gone back. Baseline, same run: the same
app in a terminal (`campaigns` on a pty, the same keys), and the web server process alone.

    .venv/bin/pytest -q -s -p no:xdist -o python_files='bench_*.py' tests/benchmarks/bench_web.py
"""

from __future__ import annotations

import json
import os
import time

import aiohttp
import psutil
import psycopg
import pyte

from tests.tui.data import seed
from tests.tui.terminal.terminal import spawn_app
from tests.tui.web_process import WAIT, campaigns_web

TABS = int(os.environ.get("BENCH_WEB_TABS", 3))
MB = 2**20


def _connections(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
        ).fetchall()
    return {name: int(n) for name, n in rows}


def _memory(process: psutil.Process) -> tuple[float, float]:
    info = process.memory_full_info()
    return info.rss / MB, info.uss / MB


class WebTab:
    """A tab as the browser's websocket is: keys in as stdin, the screen out through pyte."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.websocket = websocket
        self.screen = pyte.Screen(100, 30)
        self.stream = pyte.ByteStream(self.screen)

    async def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + WAIT
        while text not in "\n".join(self.screen.display):
            assert time.monotonic() < deadline, f"{text!r} never shown"
            message = await self.websocket.receive(timeout=WAIT)
            if message.type == aiohttp.WSMsgType.BINARY:
                self.stream.feed(message.data)

    async def press(self, data: str) -> None:
        await self.websocket.send_str(json.dumps(["stdin", data]))


async def _browse(tab: WebTab) -> None:
    await tab.wait_for("Campaign id")
    await tab.press("\x1b[B\x1b[B\r")  # down, down, enter: Spring launch's recipients
    await tab.wait_for("ana@example.com")
    await tab.press("\x1b")
    await tab.wait_for("Campaign id")


async def test_what_a_tab_costs(db, capsys):
    with db.transaction() as session:
        seed(session)
    db.close()
    report: list[str] = []

    terminal = spawn_app(db.url, size=(100, 30))
    try:
        terminal.wait_for("Campaign id", timeout=WAIT)
        terminal.press("down", "down", "enter")
        terminal.wait_for("ana@example.com", timeout=WAIT)
        terminal.press("escape")
        terminal.wait_for("Campaign id", timeout=WAIT)
        terminal.wait_quiet(1.0)
        rss, uss = _memory(psutil.Process(terminal.process.pid))
        report.append(
            f"baseline, the app in a terminal: RSS {rss:.0f} MB, USS {uss:.0f} MB, "
            f"connections {_connections(db.url)}"
        )
    finally:
        terminal.close()

    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as client:
        with campaigns_web(db.url, "--max-sessions", str(TABS)) as web:
            server = psutil.Process(web.process.pid)
            rss, _ = _memory(server)
            report.append(f"campaigns web, no tab: RSS {rss:.0f} MB, {_connections(db.url)}")
            tabs = []
            for n in range(1, TABS + 1):
                query = f"token={web.token}&width=100&height=30"
                tab = WebTab(await client.ws_connect(f"{web.url}ws?{query}"))
                await _browse(tab)
                tabs.append(tab)
                time.sleep(1.0)  # its last reads back in the pool
                apps = [_memory(app) for app in server.children()]
                report.append(
                    f"{n} tab(s): app RSS {[f'{r:.0f}' for r, _ in apps]} MB, "
                    f"USS {[f'{u:.0f}' for _, u in apps]} MB, server RSS "
                    f"{_memory(server)[0]:.0f} MB, connections {_connections(db.url)}"
                )
            for tab in tabs:
                await tab.websocket.close()
            web.wait_line(r"0 of \d+ open$", after=len(web.lines) - 1)
            report.append(f"every tab closed: connections {_connections(db.url)}")
    with capsys.disabled():
        print("\n" + "\n".join(report))
