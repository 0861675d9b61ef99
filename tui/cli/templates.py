"""The template subcommands: `template list|show|add FILE|edit ID|render ID EMAIL|sender`.

A template is one file (core.messages.files: Name:, Subject:, a blank line, the HTML body,
optionally `--- text part ---` and the text body). `edit` opens it in $VISUAL/$EDITOR (an error
reopens it with the message at the top) or takes --file. `render` prints the whole message as
it would be sent: headers, then each part. `sender` shows or sets the From address (the
mail_from setting; its domain is the Message-ID's and the VERP return path's).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core import messages, store
from core.errors import InvalidInput
from core.messages import TemplateFile, TemplateRow
from tui import editor
from tui.cli.common import Subcommands, one_line, subcommand, with_db


def _read(path: str) -> TemplateFile:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Can't read {path}: {exc.strerror or exc}.") from None
    return messages.parse_file(messages.decode(data, path))


def _ref(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def cmd_list(args: argparse.Namespace, db: store.Database) -> int:
    with db.reading() as session:
        rows = messages.list_templates(session)
    print("id\tname\tcampaigns\tupdated\tsubject")
    for t in rows:
        updated = t.updated_at.strftime("%Y-%m-%d %H:%M")
        print(f"{t.id}\t{one_line(t.name)}\t{t.campaigns}\t{updated}\t{one_line(t.subject)}")
    if not rows:
        print("(no templates: `campaigns template add FILE` adds one)")
    return 0


def cmd_show(args: argparse.Namespace, db: store.Database) -> int:
    with db.reading() as session:
        row = messages.get_template(session, _ref(args.template))
    sys.stdout.write(messages.file_of(row))
    return 0


def _said(row: TemplateRow, verb: str) -> None:
    print(f"{verb} template {row.id} {one_line(row.name)!r}", file=sys.stderr)


def cmd_add(args: argparse.Namespace, db: store.Database) -> int:
    f = _read(args.file)
    row = _save(db, None, f)
    _said(row, "added")
    print(row.id)
    return 0


def _save(db: store.Database, template_id: int | None, f: TemplateFile) -> TemplateRow:
    return db.run(lambda s: messages.save_file(s, template_id, f))


def cmd_edit(args: argparse.Namespace, db: store.Database) -> int:
    with db.reading() as session:
        old = messages.get_template(session, _ref(args.template))
    if args.file:
        row = _save(db, old.id, _read(args.file))
    else:
        saved = editor.edit(
            messages.file_of(old), lambda content: _save(db, old.id, messages.parse_file(content))
        )
        if saved is None:
            print("nothing saved", file=sys.stderr)
            return 1
        row = saved
    _said(row, "saved")
    return 0


def cmd_delete(args: argparse.Namespace, db: store.Database) -> int:
    row = db.run(lambda s: messages.delete_template(s, _ref(args.template)))
    _said(row, "deleted")
    return 0


def cmd_render(args: argparse.Namespace, db: store.Database) -> int:
    def render(session: Any) -> bytes:
        template = _ref(args.template)
        campaign = args.campaign or messages.campaign_for(session, template, args.email)
        msg = messages.message_for(session, campaign, args.email, template=template)
        return msg.as_bytes()

    sys.stdout.buffer.write(db.run(render))
    return 0


def cmd_sender(args: argparse.Namespace, db: store.Database) -> int:
    if args.address is None:
        with db.reading() as session:
            print(messages.mail_from(session))
        return 0
    print(db.run(lambda s: messages.set_mail_from(s, args.address)))
    return 0


def add_commands(sub: Subcommands) -> None:
    p = subcommand(sub, "template", help="the templates campaigns send, and their rendering")
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True, dest="action")
    a = subcommand(actions, "list", help="every template: id, name, campaigns using it")
    a.set_defaults(handler=with_db(cmd_list, reads_only=True))
    a = subcommand(actions, "show", help="a template as a file (the one add and edit take)")
    a.add_argument("template", help="its id or name")
    a.set_defaults(handler=with_db(cmd_show, reads_only=True))
    a = subcommand(actions, "add", help="add a template from a file (- for stdin)")
    a.add_argument("file", help="Name:, Subject:, a blank line, the HTML body (see README)")
    a.set_defaults(handler=with_db(cmd_add))
    a = subcommand(actions, "edit", help="edit a template in $VISUAL/$EDITOR, or from --file")
    a.add_argument("template", help="its id or name")
    a.add_argument("--file", metavar="FILE", help="replace it with this file instead")
    a.set_defaults(handler=with_db(cmd_edit))
    a = subcommand(actions, "delete", help="delete a template no unfinished campaign uses")
    a.add_argument("template", help="its id or name")
    a.set_defaults(handler=with_db(cmd_delete))
    a = subcommand(actions, "render", help="the whole message a recipient would get")
    a.add_argument("template", help="its id or name")
    a.add_argument("email", help="a recipient's email address")
    a.add_argument(
        "--campaign",
        metavar="ID",
        help="the campaign it is sent in (default: one using the template with that recipient)",
    )
    a.set_defaults(handler=with_db(cmd_render))
    a = subcommand(actions, "sender", help="show or set the From address messages carry")
    a.add_argument("address", nargs="?", help="like 'Acme News <news@mail.acme.com>'")
    a.set_defaults(handler=with_db(cmd_sender))
