"""A campaign's message for one recipient, as a standard email.message.EmailMessage:
message_for(session, campaign, email) is the one function a sender or `render` calls.

    From                     the mail_from setting (`campaigns template sender`), else
                             DEFAULT_FROM; its domain is the sending domain
    To, Subject              the recipient; the subject rendered on one line
    Message-ID               <cc.{campaign}.{recipient}@domain> (core.tracking.message_id):
                             the same for the same campaign and recipient
    List-Unsubscribe(-Post)  the one-click URL, RFC 8058's List-Unsubscribe=One-Click
    Return-Path              bounces+TOKEN@domain (core.tracking.bounce_address: signed VERP)
    X-Campaign-Console-*     the campaign's campaign_id and the recipient's id, for webhooks

The HTML part: rendered (fields escaped), each trackable link replaced by the recipient's
click URL (its original saved in campaign_links), the open pixel before </body>, the CSS
inlined (css-inline, no remote stylesheets). The text part: the template's own, else made from
that HTML. Links are saved in the caller's transaction: commit it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import css_inline
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.campaigns import campaign_key
from core.errors import InvalidInput, NotFound
from core.messages.markup import rewrite, text_part
from core.messages.mime import address, assemble
from core.messages.sandbox import HTML_ENV, MAX_OUTPUT_CHARS, TEXT_ENV, render_limited
from core.messages.skeleton import Marked, Skeleton, build, fill_plain, plain_fields_only, plan
from core.messages.templates import TemplateRow, get_template
from core.tracking import (
    HEADER_CAMPAIGN,
    HEADER_RECIPIENT,
    KeyRing,
    bounce_address,
    check_domain,
    click_url,
    click_urls,
    load_keyring,
    message_id,
    open_url,
    public_url,
    save_links,
    save_setting,
    setting,
    sign,
    unsubscribe_url,
)
from core.tracking.tokens import Signer
from core.tracking.urls import find_recipient_id

MAIL_FROM_SETTING = "mail_from"
DEFAULT_FROM = "Campaign Console <campaigns@localhost>"
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)
MAX_SKELETONS = 64  # shapes of one campaign's HTML kept (its if-branches); past it: in full
MAX_MARKED = 256  # marked renderings kept a template part (by the key they depend on)
_Plan = tuple[tuple[str, ...], tuple[int, ...]]

_CAMPAIGN = text("SELECT campaign_id, name, template_id FROM campaigns WHERE id = :pk")
_RECIPIENT = text(
    "SELECT r.id, r.email_address, l.name, l.company FROM campaign_recipients r"
    " LEFT JOIN leads l ON l.id = r.lead_id WHERE r.id = :id AND r.campaign_id = :pk"
)
_CAMPAIGN_FOR = text(
    "SELECT c.id FROM campaigns c WHERE EXISTS (SELECT 1 FROM campaign_recipients r"
    " WHERE r.campaign_id = c.id AND lower(r.email_address) = lower(:email))"
    " ORDER BY c.template_id IS NOT DISTINCT FROM :t DESC, c.id DESC LIMIT 1"
)
_SAMPLE = text(
    "SELECT c.id, (SELECT r.email_address FROM campaign_recipients r WHERE r.campaign_id = c.id"
    " ORDER BY r.id LIMIT 1) FROM campaigns c WHERE c.total_recipients > 0"
    " ORDER BY c.template_id IS NOT DISTINCT FROM :t DESC, c.id DESC LIMIT 1"
)
_FIRST = text(
    "SELECT email_address FROM campaign_recipients WHERE campaign_id = :pk ORDER BY id LIMIT 1"
)


def check_mail_from(value: object) -> str:
    """'Name <local@domain>' or 'local@domain', on one line, with a domain a Message-ID can
    carry; InvalidInput otherwise."""
    if not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise InvalidInput("The From address is like 'Acme News <news@mail.acme.com>'.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput("The From address is one line without control characters.")
    name, addr = parseaddr(value.strip())
    local, at, domain = addr.rpartition("@")
    if not at or not local:
        raise InvalidInput(f"{value!r} has no address like news@mail.acme.com in it.")
    check_domain(domain)
    try:
        Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise InvalidInput(f"{value!r} is not an address a message can carry ({exc}).") from None
    return value.strip()


def mail_from(session: Session) -> str:
    """The From address messages carry: the mail_from setting, else DEFAULT_FROM."""
    return setting(session, MAIL_FROM_SETTING) or DEFAULT_FROM


def set_mail_from(session: Session, value: str) -> str:
    """Save the From address (checked first); writes in the caller's transaction."""
    checked = check_mail_from(value)
    save_setting(session, MAIL_FROM_SETTING, checked)
    return checked


def _one_line(value: str) -> str:
    """A header's text: whitespace runs as one space, control characters dropped."""
    if value.isprintable():
        return " ".join(value.split())
    return " ".join("".join(c for c in value if c.isprintable() or c.isspace()).split())


def sending_domain(from_address: str) -> str:
    return parseaddr(from_address)[1].rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class Recipient:
    id: int
    email: str
    name: str
    company: str


@dataclass
class CampaignMail:
    """What every message of one campaign shares, prepared once: the templates compiled, the
    keys, the URLs' base, the From address, and the links' positions seen so far."""

    campaign_pk: int
    campaign_id: str
    campaign_name: str
    template: TemplateRow
    ring: KeyRing
    base_url: str
    from_address: str
    domain: str
    positions: dict[str, int] = field(default_factory=dict)
    compiled: tuple[Any, Any, Any | None] = field(init=False)
    skeletons: dict[str, Skeleton | None] = field(default_factory=dict)  # by marked render
    fast: bool = field(init=False)
    marked_html: Marked[str] = field(init=False)
    signer: Signer = field(init=False)
    marked_text: tuple[Marked[_Plan] | None, Marked[_Plan] | None] = field(init=False)

    def __post_init__(self) -> None:
        t = self.template
        self.compiled = (
            TEXT_ENV.from_string(t.subject),
            HTML_ENV.from_string(t.html_body),
            None if t.text_body is None else TEXT_ENV.from_string(t.text_body),
        )
        self.fast = plain_fields_only(t.html_body)
        self.signer = Signer(self.ring, self.campaign_pk)
        body = self.compiled[1]
        self.marked_html = Marked(
            t.html_body, lambda v: render_limited(body, v, "html body"), MAX_MARKED
        )
        self.marked_text = (
            self._marked_text(t.subject, self.compiled[0], "subject"),
            None
            if t.text_body is None
            else self._marked_text(t.text_body, self.compiled[2], "text body"),
        )

    @staticmethod
    def _marked_text(source: str, compiled: Any, part: str) -> Marked[_Plan] | None:
        if not plain_fields_only(source):
            return None
        return Marked(source, lambda v: plan(render_limited(compiled, v, part)), MAX_MARKED)

    def _text(self, which: int, values: Mapping[str, str], part: str) -> str:
        """The subject (0) or the text body (1) rendered with these values: from its marked
        rendering with the values put in when it has one (the same text), else in full."""
        marked_text = self.marked_text[which]
        if marked_text is None:
            return render_limited(self.compiled[2 * which], values, part)
        out = fill_plain(marked_text(values), values)
        if len(out) > MAX_OUTPUT_CHARS:
            raise InvalidInput(f"{part}: renders to more than {MAX_OUTPUT_CHARS:,} characters.")
        return out

    def fields(self, r: Recipient, token: str) -> Mapping[str, str]:
        return {
            "email": r.email,
            "name": r.name,
            "company": r.company,
            "campaign_name": self.campaign_name,
            "campaign_id": self.campaign_id,
            "unsubscribe_url": unsubscribe_url(self.base_url, token),
        }

    def _positions(self, session: Session, urls: list[str]) -> Mapping[str, int]:
        missing = list(dict.fromkeys(u for u in urls if u not in self.positions))
        if missing:
            saved = save_links(session, self.campaign_pk, missing)
            self.positions.update(zip(missing, saved, strict=True))
        return self.positions

    def _skeleton(self, session: Session, values: Mapping[str, str]) -> Skeleton | None:
        if not self.fast:
            return None
        rendered = self.marked_html(values)
        if rendered in self.skeletons:
            return self.skeletons[rendered]
        made = build(
            rendered,
            lambda urls: self._positions(session, urls),
            lambda document: str(_INLINER.inline(document)),
            with_text=self.compiled[2] is None,
        )
        if len(self.skeletons) < MAX_SKELETONS:
            self.skeletons[rendered] = made
        return made

    def parts(self, session: Session, r: Recipient, values: Mapping[str, str]) -> tuple[str, str]:
        """(text part, HTML part): from the campaign's skeleton when it has one."""
        skeleton = self._skeleton(session, values)
        if skeleton is None:
            html_part = self.html(session, r, values)
            if self.compiled[2] is not None:
                return self._text(1, values, "text body"), html_part
            return text_part(html_part), html_part
        base, positions = self.base_url, skeleton.positions
        signed = self.signer.links(r.id, positions)
        clicks = dict(zip(positions, click_urls(base, signed, positions), strict=True))
        token = values["unsubscribe_url"].rsplit("/", 2)[-2]
        html_part, plain = skeleton.fill(values, clicks, open_url(base, token))
        if plain is None:
            plain = self._text(1, values, "text body")
        return plain, html_part

    def html(self, session: Session, r: Recipient, values: Mapping[str, str]) -> str:
        """The HTML part: rendered, links tracked, pixel, CSS inlined."""
        rendered = render_limited(self.compiled[1], values, "html body")
        ring, pk, base = self.ring, self.campaign_pk, self.base_url
        positions = self.positions

        missing: list[str] = []

        def track(url: str) -> str | None:
            position = positions.get(url)
            if position is None:
                missing.append(url)
                return None
            return click_url(base, sign(ring, pk, r.id, position), position)

        pixel = open_url(base, sign(ring, pk, r.id))
        with_links = rewrite(rendered, track, pixel)
        if missing:  # links not saved yet: saved at once, and the rewrite done again
            positions.update(zip(missing, save_links(session, pk, missing), strict=True))
            missing.clear()
            with_links = rewrite(rendered, track, pixel)
        return str(_INLINER.inline(with_links))

    def message(
        self, session: Session, r: Recipient, *, date: datetime | None = None
    ) -> EmailMessage:
        token = self.signer.token(r.id)
        values = self.fields(r, token)
        subject = _one_line(self._text(0, values, "subject"))
        plain, html_part = self.parts(session, r, values)
        headers = [
            ("From", self.from_address),
            ("To", address(_one_line(r.name), r.email)),
            ("Subject", subject),
            *((("Date", format_datetime(date)),) if date is not None else ()),
            ("Message-ID", message_id(self.campaign_pk, r.id, self.domain)),
            ("List-Unsubscribe", f"<{values['unsubscribe_url']}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            (
                "Return-Path",
                f"<{bounce_address(self.ring, self.campaign_pk, r.id, self.domain, token)}>",
            ),
            (HEADER_CAMPAIGN, self.campaign_id),
            (HEADER_RECIPIENT, str(r.id)),
        ]
        return assemble(headers, plain, html_part)


def prepare(
    session: Session, campaign: int | str, *, template: int | str | None = None
) -> CampaignMail:
    """A campaign's shared parts, with its own template or the one given; NotFound without a
    campaign, InvalidInput without a template. May create the first signing key: commit."""
    pk, _ = campaign_key(session, campaign)
    row = session.execute(_CAMPAIGN, {"pk": pk}).one()
    if template is not None:
        chosen = get_template(session, template)
    elif row.template_id is None:
        raise InvalidInput(f"Campaign {row.campaign_id} has no template: give it one first.")
    else:
        try:
            chosen = get_template(session, row.template_id)
        except NotFound:
            raise InvalidInput(
                f"Campaign {row.campaign_id} names template {row.template_id}, which does not"
                " exist."
            ) from None
    sender = mail_from(session)
    return CampaignMail(
        campaign_pk=pk,
        campaign_id=row.campaign_id,
        campaign_name=row.name,
        template=chosen,
        ring=load_keyring(session),
        base_url=public_url(session),
        from_address=sender,
        domain=sending_domain(sender),
    )


def recipient(session: Session, mail: CampaignMail, email: str) -> Recipient:
    rid = find_recipient_id(session, mail.campaign_pk, mail.campaign_id, email)
    return recipient_by_id(session, mail, rid)


def recipient_by_id(session: Session, mail: CampaignMail, rid: int) -> Recipient:
    """The campaign's recipient `rid` with its lead's name and company; NotFound if none."""
    r = session.execute(_RECIPIENT, {"id": rid, "pk": mail.campaign_pk}).one_or_none()
    if r is None:
        raise NotFound(f"Recipient {rid} is not in campaign {mail.campaign_id}.")
    return Recipient(r.id, r.email_address, r.name or "", r.company or "")


def campaign_for(session: Session, template: int | str, email: str) -> int:
    """A campaign `email` is a recipient of, for rendering `template` to it: one that uses the
    template if any, the newest first. NotFound when no campaign has that recipient."""
    row = get_template(session, template)
    pk = session.execute(_CAMPAIGN_FOR, {"email": email, "t": row.id}).scalar_one_or_none()
    if pk is None:
        raise NotFound(f"{email!r} is no campaign's recipient: a message needs a campaign.")
    return int(pk)


def sample_recipient(session: Session, template: int | str) -> tuple[int, str] | None:
    """(campaign, email) to preview `template` with: the first recipient of the newest
    campaign that uses it, else of the newest campaign with any; None when there is none."""
    row = get_template(session, template)
    found = session.execute(_SAMPLE, {"t": row.id}).first()
    return None if found is None else (int(found[0]), str(found[1]))


def message_for(
    session: Session,
    campaign: int | str,
    email: str,
    *,
    template: int | str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The message `campaign` (campaign_id or row id) sends to its recipient `email` (with
    another template if given), dated `now` (default: the current time). Saves the links it
    carries: commit."""
    mail = prepare(session, campaign, template=template)
    return mail.message(session, recipient(session, mail, email), date=now or datetime.now(UTC))


def check_renders(session: Session, campaign: int | str) -> None:
    """Refuse (InvalidInput) a campaign whose template does not render for its first
    recipient, before it starts; one without a template is not checked here. The links it
    saves are the campaign's anyway."""
    pk, _ = campaign_key(session, campaign)
    if session.execute(_CAMPAIGN, {"pk": pk}).one().template_id is None:
        return
    mail = prepare(session, pk)
    first = session.execute(_FIRST, {"pk": mail.campaign_pk}).scalar_one_or_none()
    if first is not None:
        try:
            mail.message(session, recipient(session, mail, first))
        except InvalidInput as exc:
            raise InvalidInput(
                f"Campaign {mail.campaign_id} can't start: its template does not render for"
                f" its first recipient {first!r}: {exc}"
            ) from None
