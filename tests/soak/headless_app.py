"""The app, headless, for the soak test: python -m tests.soak.headless_app URL SECONDS LOG.

Prints READY once it is live and showing campaigns, then after SECONDS one JSON line: every
paint of a new emails_sent value of campaign 1 (wall time, value), RSS samples, notifications,
its CPU use.
Logging (INFO and up) goes to the LOG file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path

from core.store import Database, FeedState
from tui.app import CampaignConsoleApp
from tui.widgets.table import ResponsiveTable

RSS_EVERY = 5.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    url, seconds, log_path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    logging.basicConfig(
        filename=log_path,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    paints: list[tuple[float, int]] = []
    notes: list[tuple[str, str]] = []

    def note(table) -> None:
        summary = getattr(table.screen, "summaries", {}).get("1")
        if summary is not None and (not paints or paints[-1][1] != summary.emails_sent):
            paints.append((time.time(), summary.emails_sent))

    for name in ("update_rows", "show_rows"):
        original = getattr(ResponsiveTable, name)

        def wrapped(self, *args, _original=original, **kwargs):
            _original(self, *args, **kwargs)
            note(self)

        setattr(ResponsiveTable, name, wrapped)

    async def auto(pilot) -> None:
        app = pilot.app
        notify = app.notify

        def recording(message, *args, **kwargs):
            notes.append((str(kwargs.get("severity", "information")), str(message)))
            return notify(message, *args, **kwargs)

        app.notify = recording
        while not (
            getattr(app.screen, "summaries", None)
            and app.feed_status
            and app.feed_status.state is FeedState.LIVE
        ):
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)
        print("READY", flush=True)
        started, cpu = time.monotonic(), time.process_time()
        rss = [(0.0, rss_mb())]
        states = []
        while time.monotonic() - started < seconds:
            await asyncio.sleep(RSS_EVERY)
            rss.append((time.monotonic() - started, rss_mb()))
            states.append(app.feed_status.state.value if app.feed_status else "none")
        cpu_percent = (time.process_time() - cpu) / (time.monotonic() - started) * 100
        await asyncio.sleep(1.0)  # the last commits' paints
        report = {
            "paints": paints,
            "rss": rss,
            "notes": notes,
            "states": states,
            "cpu_percent": cpu_percent,
        }
        print(json.dumps(report), flush=True)
        app.exit()

    database = Database(url)
    try:
        CampaignConsoleApp(database, live=True).run(headless=True, size=(120, 40), auto_pilot=auto)
    finally:
        database.close()


if __name__ == "__main__":
    main()
