"""Rendering a campaign's messages: messages per second of CampaignMail.message (the sender's
call: the HTML rendered, links tracked, pixel, CSS inlined, text part, headers with signed
tokens, an EmailMessage) beside Jinja2 alone rendering the same subject and HTML body with the
same values, in the same run, interleaved over ROUNDS; medians printed. Target (issue 15):
>= 0.5 of Jinja2 alone. Time is not asserted; every message is checked once for its links.

The campaign is real (its template and links in the database); the recipients are values in
memory (the sender reads them a page at a time: not what is measured here).

Run: make bench PYTEST_ARGS='-k render'   (BENCH_RENDER_MESSAGES=20000 on a busy machine)
"""

from __future__ import annotations

import os
import statistics
import time

from core import messages
from core.demo.templates import demo_html
from core.messages import Recipient
from core.messages.sandbox import HTML_ENV, TEXT_ENV
from tests.factories import make_campaign

MESSAGES = int(os.environ.get("BENCH_RENDER_MESSAGES", 100_000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
LINKS = tuple(
    f"https://www.example.com/{p}?utm_source=newsletter&utm_medium=email&utm_campaign=bench"
    for p in ("launch", "pricing", "demo?ref=hero", "blog/q4-release-notes", "docs", "community")
)


def test_render_throughput(db):
    with db.transaction() as s:
        t = messages.add_template(
            s,
            name="Bench",
            subject="Q4 Product Launch for {{ name or 'you' }}",
            html_body=demo_html("Q4 Product Launch", LINKS),
        )
        make_campaign(s, "camp_bench_render", name="Q4 Product Launch", template_id=t.id)
    people = [
        Recipient(i + 1, f"lead{i}@bench.example.com", f"Lead {i}", f"Company {i % 500}")
        for i in range(MESSAGES)
    ]
    ours, bare = [], []
    with db.transaction() as s:
        mail = messages.prepare(s, "camp_bench_render")
        first = mail.message(s, people[0])  # the links saved, the skeleton built
        _, html = messages.parts(first)
        assert len(messages.to_text(html)[1]) == len(LINKS) + 1  # the links and unsubscribe
        subject, body = TEXT_ENV.from_string(t.subject), HTML_ENV.from_string(t.html_body)
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for r in people:
                mail.message(s, r)
            ours.append(MESSAGES / (time.perf_counter() - start))
            start = time.perf_counter()
            for r in people:
                values = mail.fields(r, "TOKEN")
                subject.render(values)
                body.render(values)
            bare.append(MESSAGES / (time.perf_counter() - start))
    a, b = statistics.median(ours), statistics.median(bare)
    print(
        f"\nrender {MESSAGES:,} messages x {ROUNDS}: CampaignMail.message {a:,.0f} msgs/s,"
        f" Jinja2 alone {b:,.0f} msgs/s, ratio {a / b:.2f} (target >= 0.5);"
        f" skeletons {len(mail.skeletons)}, fast path {mail.fast}"
    )
