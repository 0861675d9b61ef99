"""The HTML part of a whole campaign done once: a skeleton with a marker where each field, each
click URL and the pixel go, so that one recipient's part is the skeleton with the markers
replaced (a regular expression over our own markers, never over the author's HTML).

The body is rendered per recipient with marked() values (Field: the marker as text, the real
value for truth and ==), so the branches a recipient's values take are taken and markers
stand where values go; each distinct result has its skeleton, built once. Only for templates
that use fields where a marker does what the value would (output, `~`, if, or, ==; not in a
filter, loop or call: plain_fields_only), and when every marker stands in text or in an
attribute value other than a link's (a link holding a field is one link per recipient).
Anything else: build() says None and CampaignMail renders that message in full. The part the
skeleton gives means the same as the full rendering (tests/messages check both on the same
recipients): the same text, links, pixel and inlined CSS; values escaped with html.escape.
Marked keeps a part's marked rendering by what it depends on (the fields' truth and the values
of the fields it compares), so Jinja2 runs once for each such key, not for each recipient; the
subject and a text body use it too, filled with the raw values (fill_plain).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Generic, TypeVar

from jinja2 import nodes

from core.messages.markup import SKIPPED, links, rewrite, text_part
from core.messages.sandbox import FIELDS, HTML_ENV

_FIELD_OPEN, _FIELD_CLOSE = "\ue000", "\ue001"
_CLICK_OPEN, _CLICK_CLOSE = "\ue002", "\ue003"
_PIXEL = "\ue004"
_ANY = re.compile("[\ue000-\ue004]")
_MARKER = re.compile("\ue000(\\d+)\ue001|\ue002(\\d+)\ue003|\ue004")
_ORDER = tuple(FIELDS)
_SPECIAL = re.compile("[&<>\"']")  # what html.escape() replaces
T = TypeVar("T")


class Field(str):
    """A field's marker as text, its real value for truth and comparison: rendering with these
    takes the branches the real values take and writes markers where the values go."""

    __slots__ = ("real",)
    real: str

    def __new__(cls, marker: str, real: str) -> Field:
        made = super().__new__(cls, marker)
        made.real = real
        return made

    def __bool__(self) -> bool:
        return bool(self.real)

    def __eq__(self, other: object) -> bool:
        return self.real == (other.real if isinstance(other, Field) else other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.real)

    def __contains__(self, other: object) -> bool:
        return isinstance(other, str) and other in self.real


# Where a field may stand for its marker to do what its value would: output, joined with
# `~`, tested for truth, compared with == or !=.
_AS_VALUE = (nodes.Output, nodes.Concat, nodes.Or, nodes.And, nodes.Not, nodes.CondExpr)


def _fields_safe(node: nodes.Node, parent: nodes.Node | None) -> bool:
    if isinstance(node, nodes.Name) and node.name in FIELDS:
        if isinstance(parent, (*_AS_VALUE, nodes.If)):
            return True
        if isinstance(parent, nodes.Compare):
            return all(op.op in ("eq", "ne") for op in parent.ops)
        return isinstance(parent, nodes.Operand) and parent.op in ("eq", "ne")
    if isinstance(node, nodes.Filter | nodes.For | nodes.Call | nodes.Test):
        # A filter, loop or call on a field would work on its marker: the full path does it.
        return not any(
            isinstance(n, nodes.Name) and n.name in FIELDS for n in node.find_all(nodes.Name)
        )
    return all(_fields_safe(child, node) for child in node.iter_child_nodes())


def plain_fields_only(source: str) -> bool:
    """Does the body use the fields only where a marker does what the value would?"""
    if _ANY.search(source):
        return False
    return _fields_safe(HTML_ENV.parse(source), None)


def marked(values: Mapping[str, str]) -> dict[str, Field]:
    return {k: Field(f"{_FIELD_OPEN}{i}{_FIELD_CLOSE}", values[k]) for i, k in enumerate(_ORDER)}


def _compared(node: nodes.Node) -> tuple[str, ...]:
    """The fields whose real values a rendering with marked() values can see: those in a
    comparison (== and != read them; `in` too). Elsewhere a Field shows only its truth."""
    found = {
        n.name
        for c in node.find_all(nodes.Compare)
        for n in c.find_all(nodes.Name)
        if n.name in FIELDS
    }
    return tuple(k for k in _ORDER if k in found)


class Marked(Generic[T]):
    """A template rendered with marked() values, once for each key: the fields' truth and the
    real values of the fields it compares are all that rendering depends on (plain_fields_only:
    a Field is output, joined, tested for truth or compared, nothing else; the sandbox's only
    global is range()), so the same key is the same marked rendering."""

    __slots__ = ("compared", "done", "render", "size")

    def __init__(self, source: str, render: Callable[[dict[str, Field]], T], size: int) -> None:
        self.compared = _compared(HTML_ENV.parse(source))
        self.render = render
        self.done: dict[tuple[object, ...], T] = {}
        self.size = size

    def __call__(self, values: Mapping[str, str]) -> T:
        key = (*(bool(values[k]) for k in _ORDER), *(values[k] for k in self.compared))
        found = self.done.get(key)
        if found is None:
            found = self.render(marked(values))
            if len(self.done) < self.size:
                self.done[key] = found
        return found


class _Where(HTMLParser):
    """Counts the markers that stand in text (not script or style) or attribute values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = 0
        self.raw = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for _, value in attrs:
            if value:
                self.found += len(_ANY.findall(value))
        if tag in SKIPPED:
            self.raw += 1

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.raw = max(0, self.raw - 1)

    def handle_data(self, data: str) -> None:
        if not self.raw:
            self.found += len(_ANY.findall(data))


_PIXEL_CODE = -1


def plan(marked_text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The text cut at its markers: (the n+1 pieces between them, the n markers' codes: a
    field's index in FIELDS, -1 the pixel, len(FIELDS) + position a click). Filling is then
    one join, in one pass: a value that holds a marker's character is never read as one."""
    pieces, codes, at = [], [], 0
    for m in _MARKER.finditer(marked_text):
        pieces.append(marked_text[at : m.start()])
        if m[1] is not None:
            codes.append(int(m[1]))
        elif m[2] is not None:
            codes.append(len(_ORDER) + int(m[2]))
        else:
            codes.append(_PIXEL_CODE)
        at = m.end()
    pieces.append(marked_text[at:])
    return tuple(pieces), tuple(codes)


def fill_plain(planned: tuple[tuple[str, ...], tuple[int, ...]], values: Mapping[str, str]) -> str:
    """A text template's marked rendering (fields only) with the real values in: what
    rendering it with them gives (no escaping in text)."""
    pieces, codes = planned
    if not codes:
        return pieces[0]
    out = [pieces[0]]
    for code, piece in zip(codes, pieces[1:], strict=True):
        out.append(values[_ORDER[code]])
        out.append(piece)
    return "".join(out)


def _fill(
    planned: tuple[tuple[str, ...], tuple[int, ...]],
    fields: list[str],
    clicks: Mapping[int, str],
    pixel: str,
) -> str:
    pieces, codes = planned
    out = [pieces[0]]
    top = len(fields)
    for code, piece in zip(codes, pieces[1:], strict=True):
        if code >= top:
            out.append(clicks[code - top])
        else:
            out.append(fields[code] if code >= 0 else pixel)
        out.append(piece)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Skeleton:
    html: str
    text: str | None  # None: the template has a text body of its own
    html_plan: tuple[tuple[str, ...], tuple[int, ...]] = field(init=False)
    text_plan: tuple[tuple[str, ...], tuple[int, ...]] | None = field(init=False)
    positions: tuple[int, ...] = field(init=False)  # the links' positions, each once

    def __post_init__(self) -> None:
        html_plan = plan(self.html)
        object.__setattr__(self, "html_plan", html_plan)
        object.__setattr__(self, "text_plan", None if self.text is None else plan(self.text))
        top = len(_ORDER)
        clicks = dict.fromkeys(code - top for code in html_plan[1] if code >= top)
        object.__setattr__(self, "positions", tuple(clicks))

    def fill(
        self, values: Mapping[str, str], clicks: Mapping[int, str], pixel: str
    ) -> tuple[str, str | None]:
        """(the HTML part, the text part made from it) for one recipient; `clicks`: each of
        the positions' click URL."""
        escape = html.escape
        escaped = [escape(values[k]) for k in _ORDER]
        if _SPECIAL.search(pixel) or any(_SPECIAL.search(url) for url in clicks.values()):
            clicks_in_html = {n: escape(url) for n, url in clicks.items()}
            pixel_in_html = escape(pixel)
        else:  # nothing html.escape() changes: the same URLs
            clicks_in_html, pixel_in_html = dict(clicks), pixel
        filled = _fill(self.html_plan, escaped, clicks_in_html, pixel_in_html)
        if self.text_plan is None:
            return filled, None
        plain = [" ".join(values[k].split()) for k in _ORDER]
        return filled, _fill(self.text_plan, plain, clicks, pixel)


def build(
    rendered: str,
    positions: Callable[[list[str]], Mapping[str, int]],
    inline: Callable[[str], str],
    *,
    with_text: bool,
) -> Skeleton | None:
    """The skeleton of an HTML body rendered with marked() values, or None when it can't be
    one. `positions(urls)` gives the links' positions (saving them); `inline` inlines the CSS."""
    found = links(rendered)
    if any(_ANY.search(url) for url in found):
        return None  # a link that holds a field: one link per recipient
    position = positions(found)

    def click(url: str) -> str:
        return f"{_CLICK_OPEN}{position[url]}{_CLICK_CLOSE}"

    with_links = rewrite(rendered, click, _PIXEL)
    inlined = inline(with_links)
    where = _Where()
    where.feed(inlined)
    where.close()
    expected = len(_ANY.findall(with_links))
    if where.found != expected or len(_ANY.findall(inlined)) != expected:
        return None
    return Skeleton(inlined, text_part(inlined) if with_text else None)
