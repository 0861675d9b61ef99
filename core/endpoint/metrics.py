"""The endpoint's figures in Prometheus' text format (version 0.0.4), written out by hand: a
few counters, a gauge and two histograms need no library.

Each worker process keeps its own figures and labels them with its pid, so a scraper that
reaches several workers through one port sees each as its own series.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Histogram:
    buckets: Sequence[float]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.n += 1
        self.total += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break

    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    def lines(self, name: str, labels: str) -> list[str]:
        out: list[str] = []
        running = 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            running += count
            out.append(f'{name}_bucket{{{labels},le="{_number(bound)}"}} {running}')
        out.append(f'{name}_bucket{{{labels},le="+Inf"}} {self.n}')
        out.append(f"{name}_sum{{{labels}}} {_number(self.total)}")
        out.append(f"{name}_count{{{labels}}} {self.n}")
        return out


class Metrics:
    """Thread-safe: the writer's threads and the event loop both report here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits: Counter[tuple[str, str]] = Counter()  # (kind, outcome) -> hits
        self.refused: Counter[str] = Counter()  # kind -> refused tokens
        self.batch_sizes = Histogram(BATCH_BUCKETS)
        self.commit_seconds = Histogram(SECONDS_BUCKETS)
        self.spool_depth = 0  # hits in spool files, not yet in the database
        self.replayed = 0
        self.worker = str(os.getpid())

    def hit(self, kind: str, outcome: str) -> None:
        with self._lock:
            self.hits[kind, outcome] += 1

    def refuse(self, kind: str) -> None:
        with self._lock:
            self.refused[kind] += 1
            self.hits[kind, "refused"] += 1

    def batch(self, size: int, seconds: float) -> None:
        with self._lock:
            self.batch_sizes.observe(size)
            self.commit_seconds.observe(seconds)

    def spooled(self, delta: int) -> None:
        with self._lock:
            self.spool_depth = max(0, self.spool_depth + delta)

    def replay(self, n: int) -> None:
        with self._lock:
            self.replayed += n
            self.spool_depth = max(0, self.spool_depth - n)

    def render(self) -> str:
        w = f'worker="{self.worker}"'
        with self._lock:
            out = [
                "# HELP cc_endpoint_hits_total Hits by kind (open, click, unsubscribe) and outcome"
                " (recorded, spooled, rejected by core, refused token, failed).",
                "# TYPE cc_endpoint_hits_total counter",
            ]
            for (kind, outcome), n in sorted(self.hits.items()):
                out.append(f'cc_endpoint_hits_total{{{w},kind="{kind}",outcome="{outcome}"}} {n}')
            out += [
                "# HELP cc_endpoint_refused_tokens_total Forged, tampered or expired tokens.",
                "# TYPE cc_endpoint_refused_tokens_total counter",
            ]
            for kind, n in sorted(self.refused.items()):
                out.append(f'cc_endpoint_refused_tokens_total{{{w},kind="{kind}"}} {n}')
            out += [
                "# HELP cc_endpoint_batch_size Hits written in one transaction.",
                "# TYPE cc_endpoint_batch_size histogram",
                *self.batch_sizes.lines("cc_endpoint_batch_size", w),
                "# HELP cc_endpoint_commit_seconds Time to write and commit one batch.",
                "# TYPE cc_endpoint_commit_seconds histogram",
                *self.commit_seconds.lines("cc_endpoint_commit_seconds", w),
                "# HELP cc_endpoint_spool_depth Hits in the spool, answered but not yet in the"
                " database.",
                "# TYPE cc_endpoint_spool_depth gauge",
                f"cc_endpoint_spool_depth{{{w}}} {self.spool_depth}",
                "# HELP cc_endpoint_replayed_total Hits replayed from the spool.",
                "# TYPE cc_endpoint_replayed_total counter",
                f"cc_endpoint_replayed_total{{{w}}} {self.replayed}",
            ]
        return "\n".join(out) + "\n"


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))
