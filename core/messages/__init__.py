"""core.messages: what a campaign sends. Templates (templates: the table, checked on save), the
template language (sandbox: Jinja2's sandbox, strict, cut to the fields), the HTML body's links,
pixel and text (markup), the message of one recipient with its headers (compose), and a
preview of it for reading (preview)."""

from core.messages import skeleton
from core.messages.compose import (
    DEFAULT_FROM,
    CampaignMail,
    Recipient,
    campaign_for,
    check_mail_from,
    check_renders,
    mail_from,
    message_for,
    prepare,
    recipient,
    sample_recipient,
    set_mail_from,
)
from core.messages.files import (
    NEW_FILE,
    TemplateFile,
    decode,
    file_of,
    parse_file,
    save_file,
    strip_notes,
    with_note,
)
from core.messages.markup import links, rewrite, text_part, to_text
from core.messages.preview import Preview, parts, preview
from core.messages.sandbox import FIELDS, MAX_OUTPUT_CHARS, SAMPLE, check_source
from core.messages.source import MessageBuilder
from core.messages.templates import (
    MAX_BODY_CHARS,
    TemplateListing,
    TemplateRow,
    add_template,
    check_template,
    delete_template,
    edit_template,
    get_template,
    list_templates,
)

__all__ = [
    "DEFAULT_FROM",
    "FIELDS",
    "MAX_BODY_CHARS",
    "MAX_OUTPUT_CHARS",
    "NEW_FILE",
    "SAMPLE",
    "CampaignMail",
    "MessageBuilder",
    "Preview",
    "Recipient",
    "TemplateFile",
    "TemplateListing",
    "TemplateRow",
    "add_template",
    "campaign_for",
    "check_mail_from",
    "check_renders",
    "check_source",
    "check_template",
    "decode",
    "delete_template",
    "edit_template",
    "file_of",
    "get_template",
    "links",
    "list_templates",
    "mail_from",
    "message_for",
    "parse_file",
    "parts",
    "prepare",
    "preview",
    "recipient",
    "rewrite",
    "sample_recipient",
    "save_file",
    "set_mail_from",
    "skeleton",
    "strip_notes",
    "text_part",
    "to_text",
    "with_note",
]
