"""The HTML body's links and pixel, and its text: through html.parser, never regular
expressions over the document.

rewrite() finds each <a> and <area> href (the parser decodes its entities: that decoded text
is the link, kept byte for byte), hands the http(s) ones to `track` for the URL to put in their
place, and puts the open pixel before the last </body> (at the end without one). Left alone:
mailto:, tel: and any other scheme, relative links, links already under the endpoint's
TRACK_PREFIX (the unsubscribe URL), and a tag with a data-notrack attribute.

to_text() is the HTML as plain text: blocks on lines of their own, each link's text followed
by [n], and the links listed after it.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Callable
from html.parser import HTMLParser, attrfind_tolerant, tagfind_tolerant  # type: ignore[attr-defined]

from core.errors import InvalidInput
from core.tracking import TRACK_PREFIX, check_link

LINK_TAGS = frozenset({"a", "area"})
NO_TRACK = "data-notrack"
BLOCKS = frozenset(
    {
        "p", "div", "table", "tr", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "section", "article", "header", "footer", "hr", "center",
    }
)  # fmt: skip
SKIPPED = frozenset({"script", "style", "head", "title"})


def trackable(url: str) -> bool:
    """An absolute http(s) link that is not already one of the endpoint's URLs."""
    if TRACK_PREFIX in url:
        return False
    try:
        check_link(url)
    except InvalidInput:
        return False
    return True


class _Offsets:
    def __init__(self, document: str) -> None:
        starts = [0]
        find = document.find
        at = find("\n")
        while at >= 0:
            starts.append(at + 1)
            at = find("\n", at + 1)
        self.starts = starts

    def of(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column


def _value_span(tag_text: str, name: str) -> tuple[int, int] | None:
    """Where the first `name` attribute's value (quotes included) sits in a start tag's text,
    found the way html.parser itself reads the tag."""
    match = tagfind_tolerant.match(tag_text, 1)
    if match is None:
        return None
    k = match.end()
    while k < len(tag_text):
        m = attrfind_tolerant.match(tag_text, k)
        if not m:
            return None
        if m.group(1).lower() == name and m.group(2):
            return m.span(3)
        k = m.end()
    return None


class _Rewriter(HTMLParser):
    def __init__(self, document: str, track: Callable[[str], str | None]) -> None:
        super().__init__(convert_charrefs=True)
        self.document = document
        self.offsets = _Offsets(document)
        self.track = track
        self.edits: list[tuple[int, int, str]] = []
        self.body_end: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in LINK_TAGS:
            return
        href = next((v for k, v in attrs if k == "href"), None)
        if not href or any(k == NO_TRACK for k, _ in attrs) or not trackable(href):
            return
        tracked = self.track(href)
        raw = self.get_starttag_text()
        span = _value_span(raw, "href") if raw else None
        if tracked is None or span is None:
            return
        start = self.offsets.of(*self.getpos())
        self.edits.append((start + span[0], start + span[1], f'"{html.escape(tracked)}"'))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "body":
            self.body_end = self.offsets.of(*self.getpos())


def rewrite(document: str, track: Callable[[str], str | None], pixel: str | None) -> str:
    """The document with each trackable href replaced by track(href) (None: left as it is)
    and the pixel <img> (of the URL `pixel`) before the last </body>."""
    parser = _Rewriter(document, track)
    parser.feed(document)
    parser.close()
    edits = parser.edits
    if pixel is not None:
        at = len(document) if parser.body_end is None else parser.body_end
        img = (
            f'<img src="{html.escape(pixel)}" width="1" height="1" alt=""'
            ' style="display:block;border:0;width:1px;height:1px">'
        )
        bisect.insort(edits, (at, at, img))
    if not edits:
        return document
    out: list[str] = []
    last = 0
    for start, end, replacement in edits:
        out.append(document[last:start])
        out.append(replacement)
        last = end
    out.append(document[last:])
    return "".join(out)


def links(document: str) -> list[str]:
    """Every trackable href of the document, entity-decoded, in order (repeats kept)."""
    found: list[str] = []

    def note(url: str) -> None:
        found.append(url)

    parser = _Rewriter(document, lambda url: note(url))
    parser.feed(document)
    parser.close()
    return found


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.skip = 0
        self.href: list[str | None] = []

    def _newline(self, blank: bool = False) -> None:
        self.parts.append("\n\n" if blank else "\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skip += 1
        elif tag == "br":
            self._newline()
        elif tag in BLOCKS:
            self._newline(tag in ("p", "table", "h1", "h2", "h3"))
        elif tag == "li":
            self._newline()
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "img":
            alt = next((v for k, v in attrs if k == "alt"), None)
            if alt:
                self.parts.append(f"[{alt}]")
        if tag in LINK_TAGS:
            self.href.append(next((v for k, v in attrs if k == "href"), None))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCKS:
            self._newline(tag in ("p", "table", "h1", "h2", "h3"))
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and not href.startswith("#"):
                self.links.append(href)
                self.parts.append(f" [{len(self.links)}]")

    def handle_data(self, data: str) -> None:
        if self.skip or not data:
            return
        words = " ".join(data.split())
        head = " " if data[0].isspace() else ""
        tail = " " if data[-1].isspace() and words else ""
        self.parts.append(head + words + tail)


def to_text(document: str) -> tuple[str, tuple[str, ...]]:
    """(the readable text, the links in the order their [n] markers count them)."""
    parser = _Text()
    parser.feed(document)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out), tuple(parser.links)


def text_part(document: str) -> str:
    """The text part made from the HTML: its text, then its links numbered."""
    body, found = to_text(document)
    if not found:
        return body + "\n"
    listed = "\n".join(f"[{n}] {url}" for n, url in enumerate(found, 1))
    return f"{body}\n\n{listed}\n"
