"""Tracking endpoint throughput and latency, durable commits, all sides in one run.

On a database of RECIPIENTS sent recipients (the benchmarks' durable embedded server), signed
open URLs spread over SAMPLE of them:
  - durable open hits/s, 64 keep-alive clients (wrk, Debian's package, installed when
    missing), against `campaigns serve` (a real process) answering
      (a) the pixel without writing (--writes none): the HTTP ceiling;
      (e) hits batched into one transaction, answered once committed (the endpoint);
      (b) one transaction per hit on a pool (--writes per-hit, listmonk's way);
  - (c) core.events.record_events called directly with the batch sizes (e) had (its
    /metrics), on as many threads as the endpoint has writers (1): the ceiling of the writes.
Sides are interleaved over ROUNDS; medians are printed. Targets (issue 14): (e) >= 5x (b),
(e) >= 0.8 of (c); p99 at 1,000 hits/s <= 50 ms, measured with a paced open-loop client of
our own (latency from each request's scheduled time, so a stall is not hidden). Time is not
asserted; correctness is: every hit wrk got an answer for is stored, and the counters and
rollup equal a recount.

Run: make bench PYTEST_ARGS='-k tracking'
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text

from core import figures, tracking
from core.events import EventInput, record_events
from core.store import Database
from tests.endpoint.server import Server, start_server
from tests.scratch import migrated_database

RECIPIENTS = int(os.environ.get("BENCH_TRACKING_RECIPIENTS", 200_000))
CAMPAIGNS = 20
SAMPLE = 20_000  # recipients the load's URLs are spread over
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
SECONDS = int(os.environ.get("BENCH_TRACKING_SECONDS", 5))  # per side and round
CLIENTS = 64
WRITERS = int(os.environ.get("BENCH_TRACKING_WRITERS", 2))  # `campaigns serve --writers`
WORKERS = int(os.environ.get("BENCH_TRACKING_WORKERS", 1))  # `campaigns serve --workers`
PACED_RATE, PACED_SECONDS = 1000, int(os.environ.get("BENCH_TRACKING_PACED", 10))


@pytest.fixture(scope="module")
def tracking_url(pg_admin_url) -> Iterator[str]:
    with migrated_database(pg_admin_url, "cc_bench_track") as url:
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO leads (email) SELECT 'r' || g || '@track.test'"
                " FROM generate_series(1, %s) g",
                (RECIPIENTS,),
            )
            conn.execute(
                "INSERT INTO campaigns (campaign_id, name, status, started_at)"
                " SELECT 'camp_track' || g, 'Tracked ' || g, 'running', now() - interval '1 day'"
                " FROM generate_series(1, %s) g",
                (CAMPAIGNS,),
            )
            conn.execute(
                "INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status,"
                " sent_at) SELECT 1 + l.id %% %s, l.id, l.email, 'sent', now() - interval '1 day'"
                " FROM leads l",
                (CAMPAIGNS,),
            )
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")
        yield url


def _wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
    if found is None:
        pytest.skip("wrk is not installed and apt-get could not install it")
    return found


def _paths(db: Database) -> list[str]:
    ring = db.run(tracking.load_keyring)
    with db.reading() as session:
        rows = session.execute(
            text("SELECT campaign_id, id FROM campaign_recipients ORDER BY md5(id::text) LIMIT :n"),
            {"n": SAMPLE},
        ).all()
    return [f"{tracking.TRACK_PREFIX}/{tracking.sign(ring, c, r)}/open" for c, r in rows]


def _lua(paths: list[str], where: Path) -> Path:
    # Each wrk thread walks the list from its own starting point.
    body = ",\n".join(f'"{p}"' for p in paths)
    where.write_text(
        f"paths = {{\n{body}\n}}\n"
        "local i = 0\n"
        "function init(args) i = math.random(#paths) end\n"
        "function request()\n"
        "  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\n'
        "end\n",
        encoding="utf-8",
    )
    return where


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_DONE = re.compile(r"(\d+) requests in")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors:.*")


def run_wrk(wrk: str, url: str, script: Path, seconds: int) -> tuple[float, int]:
    """(requests/s, requests answered with 2xx)."""
    out = subprocess.run(
        [wrk, "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(_RPS.search(out)[1])  # type: ignore[index]
    done = int(_DONE.search(out)[1])  # type: ignore[index]
    bad = _NON2XX.search(out)
    assert bad is None, out
    errors = _ERRORS.search(out)
    if errors:
        print(f"    wrk: {errors[0]}")
    return rps, done


def batch_mean(server: Server) -> float:
    body = httpx.get(f"{server.url}/metrics", timeout=10).text
    total = float(re.search(r"cc_endpoint_batch_size_sum\{[^}]*\} ([\d.]+)", body)[1])  # type: ignore[index]
    count = float(re.search(r"cc_endpoint_batch_size_count\{[^}]*\} (\d+)", body)[1])  # type: ignore[index]
    return total / count if count else 0.0


def direct(db: Database, rids: list[int], batch: int, threads: int, seconds: float) -> float:
    """record_events as the endpoint calls it, with no HTTP: events/s."""
    stop = time.monotonic() + seconds
    done = [0] * threads

    def work(t: int) -> None:
        i = t * 997
        while time.monotonic() < stop:
            now = datetime.now(UTC)
            events = []
            for _ in range(batch):
                i = (i + 1) % len(rids)
                events.append(
                    EventInput(
                        "open",
                        recipient_id=rids[i],
                        user_agent="direct",
                        ip_address="127.0.0.1",
                        created_at=now,
                        source="pixel",
                        dedup_key=f"hit:{uuid.uuid4().hex}",
                    )
                )
            db.run(lambda s, ev=events: record_events(s, ev, skip_invalid=True))
            done[t] += batch

    started = time.monotonic()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.monotonic() - started)


async def paced(host: str, port: int, paths: list[str], rate: int, seconds: int) -> list[float]:
    """Open-loop: request k is due at start + k/rate on one of 32 keep-alive connections; its
    latency runs from when it was due to the end of its answer."""
    conns = 32
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(conns):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []

    async def one(k: int, due: float) -> None:
        reader, writer = await pool.get()
        path = paths[k % len(paths)]
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head)[1])  # type: ignore[index]
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - due)
        assert head.startswith(b"HTTP/1.1 200")
        pool.put_nowait((reader, writer))

    start = time.perf_counter() + 0.1
    tasks = []
    for k in range(rate * seconds):
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k, due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return latencies


def _serve(url: str, spool: Path, mode: str) -> Server:
    return start_server(
        url, spool, "--writes", mode, "--writers", str(WRITERS), "--workers", str(WORKERS)
    )


def test_tracking_endpoint(tracking_url):
    wrk = _wrk()
    db = Database(tracking_url)
    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-track-"))
    try:
        paths = _paths(db)
        script = _lua(paths, tmp / "opens.lua")
        with db.reading() as session:
            rids = list(
                session.scalars(text("SELECT id FROM campaign_recipients LIMIT :n"), {"n": SAMPLE})
            )
        modes = [
            ("none", "(a) the pixel, nothing written"),
            ("batched", "(e) the endpoint: batched, answered after commit"),
            ("per-hit", "(b) one transaction per hit (listmonk's way)"),
        ]
        rates: dict[str, list[float]] = {m: [] for m, _ in modes}
        rates["direct"] = []
        answered = 0
        batches: list[float] = []
        for r in range(ROUNDS):
            for mode, _ in modes[r % 3 :] + modes[: r % 3]:
                server = _serve(tracking_url, tmp / "spool", mode)
                try:
                    _, warm = run_wrk(wrk, server.url, script, 1)  # connections, caches
                    rps, done = run_wrk(wrk, server.url, script, SECONDS)
                    rates[mode].append(rps)
                    if mode == "batched":
                        batches.append(batch_mean(server))
                finally:
                    assert server.stop() == 0, server.stderr()
                if mode != "none":
                    answered += warm + done
            size = max(1, round(batches[-1]))
            rates["direct"].append(direct(db, rids, size, WRITERS, SECONDS))

        print(
            f"\ntracking endpoint: {RECIPIENTS:,} recipients, {CLIENTS} keep-alive clients"
            f" (wrk), {ROUNDS} rounds of {SECONDS} s, durable commits; medians"
        )
        print(f"  {'':<52}{'hits/s':>10}   rounds")
        labels = dict(modes) | {"direct": "(c) record_events directly, same batch sizes"}
        for name in ("batched", "per-hit", "direct", "none"):
            values = ", ".join(f"{x:,.0f}" for x in rates[name])
            print(f"  {labels[name]:<52}{statistics.median(rates[name]):>10,.0f}   {values}")
        med = {k: statistics.median(v) for k, v in rates.items()}
        print(f"  mean batch size of (e): {statistics.median(batches):.1f} hits")
        print(
            f"  (e)/(b) = {med['batched'] / med['per-hit']:.1f}x (target >= 5); "
            f"(e)/(c) = {med['batched'] / med['direct']:.2f} (target >= 0.8); "
            f"(e)/(a) = {med['batched'] / med['none']:.2f}"
        )

        # At 1,000 hits/s, and at half of what (e) sustained when that is less: a rate
        # beyond the capacity only measures the queue.
        paced_rates = [PACED_RATE]
        if med["batched"] < 1.25 * PACED_RATE:
            paced_rates.append(int(med["batched"] / 2))
        for rate in paced_rates:
            server = _serve(tracking_url, tmp / "spool", "batched")
            try:
                host, port = server.url.removeprefix("http://").rsplit(":", 1)
                lat = asyncio.run(paced(host, int(port), paths, rate, PACED_SECONDS))
            finally:
                assert server.stop() == 0, server.stderr()
            lat.sort()
            p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
            print(
                f"  paced {rate:,} hits/s for {PACED_SECONDS} s (open loop): p50 {p50:.1f} ms,"
                f" p99 {p99:.1f} ms, max {lat[-1] * 1000:.1f} ms (target at 1,000/s: p99 <= 50)"
            )
            answered += len(lat)

        with db.transaction() as session:
            stored = session.scalar(
                text(
                    "SELECT count(*) FROM email_tracking WHERE user_agent IS DISTINCT FROM 'direct'"
                )
            )
            assert figures.recount(session) == ()
        # wrk stops with requests in flight: those may be stored but never answered.
        assert answered <= stored <= answered + ROUNDS * 2 * 2 * CLIENTS
    finally:
        db.close()
        shutil.rmtree(tmp, ignore_errors=True)


PAINT_HITS, PAINT_RATE = 100, 10  # first opens through the endpoint, per second
# The watched campaign's size: the campaigns screen shows rates to one decimal, so on a
# campaign of 500 sent every first open changes the open rate shown (by 0.2 points). On one
# of the fixture's 10,000 only one open in ten would: the others change nothing on screen, and
# "the first frame showing it" would wait for the next open that does, up to a second later.
PAINT_RECIPIENTS = 500


def _paint_campaign(url: str) -> int:
    """A running campaign of PAINT_RECIPIENTS sent recipients, created last: the first row of
    the campaigns screen (newest first). Its id."""
    with psycopg.connect(url) as conn:
        pk = conn.execute(
            "INSERT INTO campaigns (campaign_id, name, status, started_at) VALUES"
            " ('camp_paint_' || md5(random()::text), 'Painted', 'running',"
            " now() - interval '1 day') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "WITH l AS (INSERT INTO leads (email) SELECT 'p' || g || '.' || %s || '@paint.test'"
            " FROM generate_series(1, %s) g RETURNING id, email)"
            " INSERT INTO campaign_recipients (campaign_id, lead_id, email_address, status,"
            " sent_at) SELECT %s, l.id, l.email, 'sent', now() - interval '1 day' FROM l",
            (pk, PAINT_RECIPIENTS, pk),
        )
    return int(pk)


def test_hit_to_painted(tracking_url):
    """An open console (headless, its own process, bench_live's harness) and the endpoint:
    from a first open's request sent to the first frame showing the campaign's new count.
    Baseline, interleaved in the same run: the same first opens through record_events."""
    from tests.benchmarks.bench_live import APP

    db = Database(tracking_url)
    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-paint-"))
    watched = _paint_campaign(tracking_url)
    server = _serve(tracking_url, tmp / "spool", "batched")
    load_s = PAINT_HITS / PAINT_RATE + 3
    app = subprocess.Popen(
        [sys.executable, "-c", APP, tracking_url, "1", str(load_s), str(watched)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ring = db.run(tracking.load_keyring)
        with db.reading() as session:
            rids = list(
                session.scalars(
                    text(
                        "SELECT id FROM campaign_recipients WHERE campaign_id = :c"
                        " AND opened_at IS NULL ORDER BY id LIMIT :n"
                    ),
                    {"c": watched, "n": PAINT_HITS},
                )
            )
            opened = session.scalar(
                text("SELECT emails_opened FROM campaigns WHERE id = :c"), {"c": watched}
            )
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "READY"
        assert app.stdout.readline().strip() == "LOAD"
        sent: dict[str, list[tuple[float, int]]] = {"endpoint": [], "direct": []}
        answered: list[float] = []
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for k, rid in enumerate(rids, 1):
                started = time.time()
                if k % 2:
                    path = f"{tracking.TRACK_PREFIX}/{tracking.sign(ring, watched, rid)}/open"
                    assert client.get(path).status_code == 200
                    answered.append(time.time() - started)
                    sent["endpoint"].append((started, opened + k))
                else:
                    event = EventInput("open", recipient_id=rid, source="pixel")
                    db.run(lambda s, e=event: record_events(s, [e]))
                    sent["direct"].append((started, opened + k))
                time.sleep(max(0.0, 1 / PAINT_RATE - (time.time() - started)))
        report = json.loads(app.stdout.readline())
        app.wait(timeout=30)
    finally:
        app.kill()
        assert server.stop() == 0, server.stderr()
        db.close()
        shutil.rmtree(tmp, ignore_errors=True)
    paints = report["paints"]
    print(
        f"\nhit → painted on an open console, first opens at {PAINT_RATE}/s, alternating, on a"
        f" campaign of {PAINT_RECIPIENTS} sent (each open changes the rate shown):"
    )
    for side, hits in sent.items():
        latencies = []
        for at, count in hits:
            shown = next((t for t, v in paints if v >= count and t >= at), None)
            if shown is not None:
                latencies.append((shown - at) * 1000)
        assert latencies, f"no {side} hit was seen painted"
        latencies.sort()
        label = (
            "through the endpoint (target median <= 300)"
            if side == "endpoint"
            else "record_events directly (baseline)"
        )
        print(
            f"  {label:<46} median {statistics.median(latencies):>5.0f} ms,"
            f" p95 {latencies[int(len(latencies) * 0.95)]:>5.0f} ms ({len(latencies)} seen)"
        )
    print(
        f"  the endpoint's answer (committed), median {statistics.median(answered) * 1000:.0f} ms"
    )
