"""The demo's templates: one for every template_id a demo campaign names (each small campaign's
own, with its links; one a funnel for the topped-up campaigns), with those ids, so every demo
campaign points at a real template. Checked like any template (core.messages); added once
(ON CONFLICT DO NOTHING), and kept by a reset."""

from __future__ import annotations

import html
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.demo import data as d
from core.messages import check_template

_ADD = text(
    "INSERT INTO templates (id, name, subject, html_body, text_body)"
    " SELECT * FROM unnest(CAST(:ids AS int[]), CAST(:names AS text[]),"
    " CAST(:subjects AS text[]), CAST(:html AS text[]), CAST(:text AS text[]))"
    " ON CONFLICT DO NOTHING"
)
# Ids given here: the sequence moves past them, so templates added later get free ones.
_BUMP = text("SELECT setval('templates_id_seq', GREATEST((SELECT max(id) FROM templates), 1))")
_STYLE = (
    "<style>body { font-family: Helvetica, Arial, sans-serif; color: #222 }"
    " .button { background: #0b5fff; color: #fff; padding: 10px 16px; text-decoration: none }"
    " .footer { color: #777; font-size: 12px }</style>"
)


def demo_html(title: str, links: Iterable[str]) -> str:
    button = 'class="button" '
    items = "\n".join(
        f'<p><a {button if i == 0 else ""}href="{html.escape(url)}">'
        f"{html.escape(_label(url))}</a></p>"
        for i, url in enumerate(links)
    )
    return (
        f"<html><head>{_STYLE}</head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        "<p>Hi {{ name or 'there' }}{% if company %} at {{ company }}{% endif %},</p>\n"
        f"{items}\n"
        '<p class="footer">Sent to {{ email }} for {{ campaign_name }}. '
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>\n'
        "</body></html>\n"
    )


def _label(url: str) -> str:
    path = url.split("://", 1)[-1].split("?", 1)[0].split("/", 1)[-1]
    return path.replace("-", " ").replace("/", " · ").strip() or "Read more"


def _funnel_links(template_id: int) -> tuple[str, ...]:
    key = template_id % 16  # core.demo.topup's funnels
    return tuple(f"https://www.example.com/{p}" for p in ("offer", "blog", "docs"))[: 1 + key % 3]


def ensure_templates(session: Session, plans: Iterable[d.CampaignPlan]) -> None:
    """The templates the plans' template_ids name, added unless there already."""
    wanted: dict[int, tuple[str, str, str, str | None]] = {}
    for p in plans:
        if p.template_id is None or p.template_id in wanted:
            continue
        if p.links or p.template_id < 200:
            name, title, links = f"Demo: {p.name}", p.name, p.links
        else:
            name, title = f"Demo funnel {p.template_id}", "News from Example"
            links = _funnel_links(p.template_id)
        subject = f"{title}" + " for {{ name or 'you' }}"
        wanted[p.template_id] = check_template(name, subject, demo_html(title, links), None)
    if not wanted:
        return
    session.execute(
        _ADD,
        {
            "ids": list(wanted),
            "names": [w[0] for w in wanted.values()],
            "subjects": [w[1] for w in wanted.values()],
            "html": [w[2] for w in wanted.values()],
            "text": [w[3] for w in wanted.values()],
        },
    )
    session.execute(_BUMP)
