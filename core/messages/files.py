"""A template as one text file, the one `campaigns template add FILE` reads and the editor
opens (`campaigns template edit`, the console's `e`):

    Name: Spring launch
    Subject: News for {{ name }}

    <html>... the HTML body ...</html>
    --- text part ---
    the text body (optional: without it the text part is made from the HTML)

Lines starting with "#!" at the top are notes (an error the editor shows) and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.messages.templates import TemplateRow, add_template, edit_template

TEXT_MARKER = "--- text part ---"
NOTE = "#!"


@dataclass(frozen=True, slots=True)
class TemplateFile:
    name: str
    subject: str
    html_body: str
    text_body: str | None


def decode(data: bytes, what: str) -> str:
    """UTF-8 text of a file; InvalidInput naming the line of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{what}, line {line}: byte 0x{data[exc.start]:02x} is not UTF-8; save it as UTF-8."
        ) from None


def format_file(name: str, subject: str, html_body: str, text_body: str | None) -> str:
    out = f"Name: {name}\nSubject: {subject}\n\n{html_body}"
    if not out.endswith("\n"):
        out += "\n"
    if text_body is not None:
        out += f"{TEXT_MARKER}\n{text_body}"
    return out


def file_of(row: TemplateRow) -> str:
    return format_file(row.name, row.subject, row.html_body, row.text_body)


NEW_FILE = format_file(
    "New template",
    "News for {{ name }}",
    '<html><body>\n<p>Hello {{ name }},</p>\n<p><a href="https://example.com/">Read more</a></p>\n'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>\n</body></html>\n',
    None,
)


def with_note(content: str, note: str) -> str:
    """The file with `note` (an error) at the top as #! lines, an old note replaced."""
    lines = [f"{NOTE} {line}" for line in note.splitlines() or [""]]
    lines.append(f"{NOTE} (fix it and save; save the file empty to give up)")
    return "\n".join(lines) + "\n" + strip_notes(content)


def strip_notes(content: str) -> str:
    lines = content.split("\n")
    while lines and lines[0].startswith(NOTE):
        lines.pop(0)
    return "\n".join(lines)


def parse_file(content: str) -> TemplateFile:
    """The parts of a template file; InvalidInput naming the line when it has no Name: or
    Subject: header, or no blank line before the body."""
    lines = strip_notes(content).replace("\r\n", "\n").split("\n")
    headers: dict[str, str] = {}
    at = 0
    while at < len(lines) and lines[at].strip():
        key, sep, value = lines[at].partition(":")
        key = key.strip().lower()
        if not sep or key not in ("name", "subject"):
            raise InvalidInput(
                f"template file, line {at + 1}: expected 'Name: ...' or 'Subject: ...', then"
                " a blank line and the HTML body."
            )
        headers[key] = value.strip()
        at += 1
    for key in ("name", "subject"):
        if key not in headers:
            raise InvalidInput(f"template file: no '{key.title()}:' line at the top.")
    body = "\n".join(lines[at + 1 :])
    html_body, marker, text_body = body.partition(f"\n{TEXT_MARKER}\n")
    if not marker and body.startswith(f"{TEXT_MARKER}\n"):
        html_body, text_body, marker = "", body[len(TEXT_MARKER) + 1 :], TEXT_MARKER
    return TemplateFile(
        headers["name"], headers["subject"], html_body + ("\n" if marker else ""),
        text_body if marker else None,
    )  # fmt: skip


def save_file(session: Session, template_id: int | None, f: TemplateFile) -> TemplateRow:
    """A new template from the file (template_id None), or the template replaced by it."""
    if template_id is None:
        return add_template(
            session, name=f.name, subject=f.subject, html_body=f.html_body, text_body=f.text_body
        )
    return edit_template(
        session,
        template_id,
        name=f.name,
        subject=f.subject,
        html_body=f.html_body,
        text_body=f.text_body,
        clear_text=f.text_body is None,
    )
