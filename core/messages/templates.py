"""Templates (the templates table, migration 0011): list, read, add, edit, delete.

Every save checks the subject, the HTML body and the text body (core.messages.sandbox) and
renders them once with sample values, so a template that is saved renders. Deleting a template
a campaign that has not finished (draft, scheduled, running, paused) uses is refused, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput, NotFound
from core.messages.sandbox import HTML_ENV, SAMPLE, TEXT_ENV, check_source, render_limited

MAX_NAME_CHARS = 255
MAX_SUBJECT_CHARS = 998  # RFC 5322's line limit
MAX_BODY_CHARS = 1_000_000  # a message past ~100 KB is clipped by mail clients anyway
UNFINISHED = ("draft", "scheduled", "running", "paused")


@dataclass(frozen=True, slots=True)
class TemplateRow:
    id: int
    name: str
    subject: str
    html_body: str
    text_body: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TemplateListing:
    id: int
    name: str
    subject: str
    campaigns: int  # campaigns that name it
    updated_at: datetime


_COLUMNS = "id, name, subject, html_body, text_body, created_at, updated_at"
_ONE = text(f"SELECT {_COLUMNS} FROM templates WHERE id = :id")
_BY_NAME = text(f"SELECT {_COLUMNS} FROM templates WHERE name = :name")
_LIST = text(
    "SELECT t.id, t.name, t.subject, t.updated_at,"
    " (SELECT count(*) FROM campaigns c WHERE c.template_id = t.id) AS campaigns"
    " FROM templates t ORDER BY t.name, t.id"
)
_ADD = text(
    "INSERT INTO templates (name, subject, html_body, text_body)"
    f" VALUES (:name, :subject, :html, :text) RETURNING {_COLUMNS}"
)
_EDIT = text(
    "UPDATE templates SET name = :name, subject = :subject, html_body = :html,"
    f" text_body = :text, updated_at = now() WHERE id = :id RETURNING {_COLUMNS}"
)
_USERS = text(
    "SELECT campaign_id, status FROM campaigns WHERE template_id = :id"
    " AND status IN ('draft', 'scheduled', 'running', 'paused') ORDER BY id LIMIT 4"
)
_DELETE = text("DELETE FROM templates WHERE id = :id")
_LOCK_ROW = text("SELECT id FROM templates WHERE id = :id FOR UPDATE")


def _check_text(value: object, what: str, limit: int, *, lines: bool) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"The {what} is text, not {type(value).__name__}.")
    if len(value) > limit:
        raise InvalidInput(
            f"The {what} is {len(value):,} characters; at most {limit:,} are allowed."
        )
    for number, line in enumerate(value.split("\n"), 1):
        for c in line:
            code = ord(c)
            if (code < 32 and c not in "\t\r") or code == 127 or 0xD800 <= code <= 0xDFFF:
                shown = f"U+{code:04X}"
                raise InvalidInput(
                    f"{what}, line {number}: holds the character {shown}, which a message"
                    " can't carry (is the file UTF-8?)."
                )
        if not lines and number > 1:
            raise InvalidInput(f"The {what} is one line.")
    return value


def check_template(
    name: object, subject: object, html_body: object, text_body: object
) -> tuple[str, str, str, str | None]:
    """The fields cleaned and checked; InvalidInput (naming the part and line) otherwise."""
    name = _check_text(name, "name", MAX_NAME_CHARS, lines=False).strip()
    if not name:
        raise InvalidInput("A template needs a name.")
    subject = _check_text(subject, "subject", MAX_SUBJECT_CHARS, lines=False).strip()
    if not subject:
        raise InvalidInput("A template needs a subject.")
    html_body = _check_text(html_body, "html body", MAX_BODY_CHARS, lines=True)
    if not html_body.strip():
        raise InvalidInput("A template needs an HTML body.")
    if text_body is not None:
        text_body = _check_text(text_body, "text body", MAX_BODY_CHARS, lines=True)
        text_body = text_body if text_body.strip() else None
    check_source("subject", subject, html=False)
    check_source("html body", html_body, html=True)
    if text_body is not None:
        check_source("text body", text_body, html=False)
    # Once with sample values: what does not render is refused now, not at send time.
    render_limited(TEXT_ENV.from_string(subject), SAMPLE, "subject")
    render_limited(HTML_ENV.from_string(html_body), SAMPLE, "html body")
    if text_body is not None:
        render_limited(TEXT_ENV.from_string(text_body), SAMPLE, "text body")
    return name, subject, html_body, text_body


def _row(r: object) -> TemplateRow:
    return TemplateRow(*r)  # type: ignore[misc]


def _not_found(template: int | str) -> NotFound:
    return NotFound(f"No template {template!r}: `campaigns template list` shows them.")


def _taken(name: str) -> Conflict:
    return Conflict(f"A template named {name!r} exists already; choose another name.")


def get_template(session: Session, template: int | str) -> TemplateRow:
    """The template with this id (int) or name (str); NotFound otherwise."""
    if isinstance(template, bool) or not isinstance(template, int | str):
        raise InvalidInput(f"A template is named by its id or name, not {template!r}.")
    if isinstance(template, int):
        row = session.execute(_ONE, {"id": template}).first() if template < 2**31 else None
    else:
        row = session.execute(_BY_NAME, {"name": template}).first()
    if row is None:
        raise _not_found(template)
    return _row(row)


def list_templates(session: Session) -> tuple[TemplateListing, ...]:
    """Every template by name, with how many campaigns name it."""
    return tuple(
        TemplateListing(r.id, r.name, r.subject, int(r.campaigns), r.updated_at)
        for r in session.execute(_LIST)
    )


def _write(session: Session, statement: Any, params: Mapping[str, object], name: str) -> Any:
    try:
        with session.begin_nested():
            return session.execute(statement, params).first()
    except IntegrityError as exc:
        if "uq_templates_name" in str(exc.orig):
            raise _taken(name) from None
        raise


def add_template(
    session: Session, *, name: str, subject: str, html_body: str, text_body: str | None = None
) -> TemplateRow:
    """A new template, checked first (nothing is written when it is refused)."""
    name, subject, html_body, text_body = check_template(name, subject, html_body, text_body)
    params = {"name": name, "subject": subject, "html": html_body, "text": text_body}
    return _row(_write(session, _ADD, params, name))


def edit_template(
    session: Session,
    template: int | str,
    *,
    name: str | None = None,
    subject: str | None = None,
    html_body: str | None = None,
    text_body: str | None = None,
    clear_text: bool = False,
) -> TemplateRow:
    """Change the parts given (clear_text: drop the text body); checked as a whole first."""
    old = get_template(session, template)
    new_text = None if clear_text else (text_body if text_body is not None else old.text_body)
    checked = check_template(
        old.name if name is None else name,
        old.subject if subject is None else subject,
        old.html_body if html_body is None else html_body,
        new_text,
    )
    params = {
        "id": old.id,
        "name": checked[0],
        "subject": checked[1],
        "html": checked[2],
        "text": checked[3],
    }
    row = _write(session, _EDIT, params, checked[0])
    if row is None:
        raise _not_found(template)
    return _row(row)


def delete_template(session: Session, template: int | str) -> TemplateRow:
    """Delete it; refused (Conflict, naming them) while a campaign that has not finished uses
    it. Campaigns that finished keep their template_id (the seed's plain column)."""
    row = get_template(session, template)
    session.execute(_LOCK_ROW, {"id": row.id})
    users = session.execute(_USERS, {"id": row.id}).all()
    if users:
        named = ", ".join(f"{u.campaign_id} ({u.status})" for u in users[:3])
        more = " and more" if len(users) > 3 else ""
        raise Conflict(
            f"Template {row.name!r} is used by campaign {named}{more}, which has not finished:"
            " give it another template first."
        )
    session.execute(_DELETE, {"id": row.id})
    return row
