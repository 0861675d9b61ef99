"""Reading a recipients CSV (email[,name,company]): decoding, the delimiter (a comma, or the
semicolon or tab spreadsheets write in some locales), line numbers, address checks.

Pure Python, no database: core.recipients.manage.import_csv stores what this reads.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, NamedTuple

from core.errors import InvalidInput

EMAIL_MAX = 254
LOCAL_MAX = 64
FIELD_MAX = 255
MAX_COLUMNS = 3
_SHOWN_MAX = 200
DELIMITERS = (",", ";", "\t")  # the first wins a tie
_SNIFF_LINES = 20
_BAD_CHARS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
# Characters that show nothing or turn the text's direction: an address holding one reads as
# another address (U+202E puts "moc.elpmaxe" right to left), so none is accepted.
_INVISIBLE_CHARS = "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# Specials of RFC 5322 that only a quoted local part may hold (quoted ones are not taken).
_SPECIALS = re.compile(r'[(),:;<>\[\]\\"]')
# The common case in one match; email_problem() explains any address this refuses.
_NOT = r'@.\s\x00-\x1f\x7f-\x9f(),:;<>\[\]\\"' + _INVISIBLE_CHARS
_C = rf"[^{_NOT}]"  # a character of a local part or a domain label
_E = rf"[^{_NOT}-]"  # one that may start or end a label
_LABEL = rf"{_E}(?:{_C}*{_E})?"
_VALID = re.compile(rf"{_C}+(?:\.{_C}+)*@{_LABEL}(?:\.{_LABEL})+")


@dataclass(frozen=True, slots=True)
class LineError:
    """A line of the file that was not imported, and why."""

    line: int
    value: str
    reason: str


class CsvRecipient(NamedTuple):
    line: int
    email: str  # lower-cased
    name: str | None
    company: str | None


@dataclass(frozen=True, slots=True)
class ParsedCsv:
    rows: tuple[CsvRecipient, ...]  # one per address, the first line that named it
    errors: tuple[LineError, ...]
    repeated: int  # lines naming an address an earlier line already named
    repeats: tuple[LineError, ...] = ()  # those lines: "duplicate of line N in this file"
    delimiter: str = ","


def email_problem(address: str) -> str | None:
    """Why `address` is not a usable email address, or None when it is."""
    if not address:
        return "the email address is empty"
    if len(address) > EMAIL_MAX:
        return f"the address is longer than {EMAIL_MAX} characters"
    if _BAD_CHARS.search(address):
        return "the address contains spaces or control characters"
    invisible = _INVISIBLE.search(address)
    if invisible:
        return (
            f"the address contains U+{ord(invisible.group()):04X}, a character that shows"
            " nothing or turns the text's direction, so the address would read as another"
        )
    special = _SPECIALS.search(address)
    if special:
        hint = " (is the file separated by semicolons?)" if special.group() == ";" else ""
        return f"the address contains {special.group()!r}, which an address can't hold{hint}"
    ats = address.count("@")
    if ats != 1:
        return "an address needs an @" if ats == 0 else "an address has only one @"
    local, domain = address.split("@")
    if not local:
        return "nothing before the @"
    if len(local) > LOCAL_MAX:
        return f"the part before the @ is longer than {LOCAL_MAX} characters"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before the @ starts or ends with a dot, or has two dots in a row"
    if "." not in domain:
        return "the domain after the @ needs a dot (like example.com)"
    labels = domain.split(".")
    if any(not label for label in labels):
        return "the domain has an empty part (two dots in a row, or a dot at either end)"
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        return "a part of the domain starts or ends with '-'"
    return None


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN_MAX else value[:_SHOWN_MAX] + "…"


def _lines(source: str | os.PathLike | IO) -> Iterator[str]:
    if isinstance(source, str | os.PathLike):
        try:
            stream = open(os.path.expanduser(source), "rb")  # noqa: SIM115  (closed below, after the generator)
        except OSError as exc:
            raise InvalidInput(f"Can't read {os.fspath(source)}: {exc.strerror}.") from None
        except ValueError:  # a NUL character in the path
            raise InvalidInput(f"Can't read {os.fspath(source)!r}: not a file name.") from None
        with stream:
            yield from _decode_bytes(stream)
    else:
        yield from _decode_text(source)


def _decode_bytes(stream: IO[bytes]) -> Iterator[str]:
    for number, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"Line {number} is not UTF-8 text: save the file as UTF-8 CSV and try again."
            ) from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def _decode_text(stream: IO) -> Iterator[str]:
    number = 0
    iterator = iter(stream)
    while True:
        try:
            raw = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError:
            # The stream decodes ahead of the line it hands out: the bad bytes are at or
            # after the next line.
            raise InvalidInput(
                f"Line {number + 1} (or one soon after) is not UTF-8 text: save the file as"
                " UTF-8 CSV and try again."
            ) from None
        number += 1
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(
                    f"Line {number} is not UTF-8 text: save the file as UTF-8 CSV and try again."
                ) from None
        yield raw.removeprefix("\ufeff") if number == 1 else raw


def _is_header(cells: list[str]) -> bool:
    first = cells[0].strip().lower()
    return "@" not in first and "email" in first.replace("-", "").replace("_", "")


def _field_problem(label: str, value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > FIELD_MAX:
        return f"the {label} is longer than {FIELD_MAX} characters"
    if "\x00" in value:
        return f"the {label} contains a NUL character"
    return None


def _address_first(cells: list[str]) -> bool:
    if not cells:
        return False
    first = cells[0].strip()
    if _is_header(cells):
        return not any(d in first for d in DELIMITERS)
    return len(cells) <= MAX_COLUMNS and email_problem(first) is None


def sniff_delimiter(head: list[str]) -> str:
    """The delimiter of DELIMITERS under which most of these lines start with an address (or
    a header); a comma when none does better."""
    best, best_score = DELIMITERS[0], -1
    for delimiter in DELIMITERS:
        try:
            score = sum(_address_first(cells) for cells in csv.reader(head, delimiter=delimiter))
        except csv.Error:
            continue
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_recipients_csv(source: str | os.PathLike | IO) -> ParsedCsv:
    """Read the file (a path, or an open text or binary stream) into rows and line errors.
    The delimiter is a comma, a semicolon or a tab, judged on the first lines.

    Raises InvalidInput when the file can't be read as UTF-8 CSV at all.
    """
    lines = _lines(source)
    head = list(itertools.islice(lines, _SNIFF_LINES))
    delimiter = sniff_delimiter(head)
    reader = csv.reader(itertools.chain(head, lines), delimiter=delimiter)
    rows: list[CsvRecipient] = []
    errors: list[LineError] = []
    repeats: list[LineError] = []
    seen: dict[str, int] = {}  # address -> the line that first named it
    first_record = True
    previous = 0
    valid = _VALID.fullmatch
    try:
        for cells in reader:
            line, previous = previous + 1, reader.line_num
            count = len(cells)
            email = cells[0].strip() if count else ""
            if not email and all(not c.strip() for c in cells):
                continue  # a blank line
            if first_record:
                first_record = False
                if _is_header(cells):
                    continue
            if count > MAX_COLUMNS:
                reason = f"{count} columns; expected email[,name,company]"
                errors.append(LineError(line, _shown(delimiter.join(cells)), reason))
                continue
            name = (cells[1].strip() or None) if count > 1 else None
            company = (cells[2].strip() or None) if count > 2 else None
            fast = len(email) <= EMAIL_MAX and valid(email) and email.index("@") <= LOCAL_MAX
            problem = (None if fast else email_problem(email)) or (
                _field_problem("name", name) or _field_problem("company", company)
            )
            if problem is not None:
                errors.append(LineError(line, _shown(email), problem))
                continue
            key = email.lower()
            first = seen.get(key)
            if first is not None:
                repeats.append(
                    LineError(line, _shown(email), f"duplicate of line {first} in this file")
                )
                continue
            seen[key] = line
            rows.append(CsvRecipient(line, key, name, company))
    except csv.Error as exc:
        raise InvalidInput(f"Line {previous + 1} can't be read as CSV: {exc}.") from None
    return ParsedCsv(tuple(rows), tuple(errors), len(repeats), tuple(repeats), delimiter)
