"""LDIF content records (RFC 2849) and DN normalization: the syntax under ``collectors.ldif``.

``entries`` reads a file into ``Entry`` objects (folded lines joined, ``version: 1`` dropped,
``::`` base64 values decoded, attribute names lower-cased) or ``Reject``s; a change file raises
``FormatError``. What the entries mean (users, groups, memberships) is ``collectors.ldif``'s job.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from collectors.base import FormatError, Reject

_ATTR_NAME = re.compile(r"(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)(?:;[A-Za-z0-9-]+)*")
_DN_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Value = str | dict[str, str]


class EntryError(ValueError):
    """A bad entry; ``line`` is None for an entry from a search, which has no file line."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem if line is None else f"line {line}: {problem}")


class _ChangeRecord(EntryError):
    pass


@dataclass(frozen=True)
class Entry:
    """One parsed LDIF content record: normalized DN, attributes by lower-cased name."""

    position: str  # "entry N (line L)"
    dn: str
    attributes: dict[str, list[Value]]
    line_of: dict[str, int | None]  # first line of each attribute, for error messages
    raw: str


def entries(path: Path) -> Iterator[Entry | Reject]:
    """Every record of an LDIF content file in file order, parsed or rejected."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FormatError(path, f"cannot open LDIF file ({exc.strerror or exc})") from None
    with handle:
        for number, lines, raw in _records(handle, path):
            position = f"entry {number} (line {lines[0][0]})"
            try:
                dn, attrs, line_of = _parse_entry(lines)
            except _ChangeRecord as exc:
                raise FormatError(
                    path, f"{exc} in entry {number}: this is an LDIF change file, not a directory snapshot"
                ) from None
            except EntryError as exc:
                yield Reject(position, str(exc), raw)
                continue
            yield Entry(position, dn, attrs, line_of, raw)


def _records(handle, path: Path) -> Iterator[tuple[int, list[tuple[int, bytes]], str]]:
    """Yield (entry number, [(line number, unfolded line)], raw text) per blank-line-separated record."""
    lines: list[tuple[int, bytes]] = []
    raw: list[bytes] = []
    in_comment = False
    number = 0
    first = True
    for line_no, physical in enumerate(handle, start=1):
        line = physical.rstrip(b"\n").rstrip(b"\r")
        if not line.strip(b" ") and not lines and not in_comment:
            line = b""  # stray whitespace between entries is a separator, not content
        if line[:1] == b" " and (lines or in_comment):
            raw.append(line)
            if not in_comment:  # RFC 2849 folding: a leading space continues the previous line
                lines[-1] = (lines[-1][0], lines[-1][1] + line[1:])
            continue
        in_comment = line[:1] == b"#"
        if line and not in_comment:
            lines.append((line_no, line))
        if line:
            raw.append(line)
            continue
        if lines:
            if first:
                lines, first = _drop_version(lines, path), False
            if lines:
                number += 1
                yield number, lines, _decode(raw)
        lines, raw = [], []
    if first and lines:
        lines = _drop_version(lines, path)
    if lines:
        yield number + 1, lines, _decode(raw)


def _drop_version(lines: list[tuple[int, bytes]], path: Path) -> list[tuple[int, bytes]]:
    line_no, line = lines[0]
    if not line.lower().startswith(b"version:"):
        return lines
    if line.split(b":", 1)[1].strip() != b"1":
        raise FormatError(path, f"line {line_no}: unsupported LDIF version {_decode([line])!r}")
    return lines[1:]


def _parse_entry(lines: list[tuple[int, bytes]]) -> tuple[str, dict[str, list[Value]], dict[str, int]]:
    parsed = [(line_no, *_parse_line(line_no, line)) for line_no, line in lines]
    first_line, name, value = parsed[0]
    if name != "dn":
        raise EntryError(first_line, f"entry does not start with 'dn:' (found {name!r})")
    if not isinstance(value, str) or not value.strip():
        raise EntryError(first_line, "field 'dn': empty or not UTF-8 text")
    try:
        dn = normalize_dn(value)
    except ValueError as exc:
        raise EntryError(first_line, f"field 'dn': {exc}") from None
    attrs: dict[str, list[Value]] = {}
    line_of: dict[str, int] = {}
    for line_no, name, value in parsed[1:]:
        if name == "dn":
            raise EntryError(line_no, "second 'dn:' line in one entry (missing blank line between entries?)")
        if name != "changetype":
            attrs.setdefault(name, []).append(value)
            line_of.setdefault(name, line_no)
    return dn, attrs, line_of


def _parse_line(line_no: int, line: bytes) -> tuple[str, Value]:
    name_bytes, colon, rest = line.partition(b":")
    name = name_bytes.decode("ascii", "replace")
    if not colon or not _ATTR_NAME.fullmatch(name):
        raise EntryError(line_no, f"malformed line {_decode([line[:80]])!r} (expected 'attribute: value')")
    name = name.lower()
    if name == "changetype":
        if rest.strip(b" ").lower() == b"add":
            return name, "add"  # ldifde-style export: an add record carries the whole entry
        raise _ChangeRecord(line_no, f"'{_decode([line])}'")
    if rest[:1] == b"<":
        url = _decode([rest[1:].strip()])
        raise EntryError(line_no, f"attribute {name!r}: external reference '<{url}' is not followed")
    if rest[:1] == b":":
        try:
            data = base64.b64decode(rest[1:].strip(b" "), validate=True)
        except (binascii.Error, ValueError):
            raise EntryError(line_no, f"attribute {name!r}: invalid base64 value") from None
        return name, binary_value(data)
    try:
        return name, rest.lstrip(b" ").decode("utf-8")
    except UnicodeDecodeError:
        raise EntryError(
            line_no, f"attribute {name!r}: value is not UTF-8 (binary values need '::')"
        ) from None


def binary_value(data: bytes) -> Value:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or _CONTROL.search(text):
        return {"base64": base64.b64encode(data).decode("ascii")}
    return text


def normalize_dn(dn: str) -> str:
    """``CN = Alice , OU=People`` → ``cn=Alice,ou=People``; escapes and quoted values kept as written."""
    rdns: list[str] = []
    avas: list[str] = []
    i, n = 0, len(dn)
    while True:
        eq = dn.find("=", i)
        if eq < 0:
            raise ValueError(f"malformed DN {dn!r} (no '=' in {dn[i:].strip()!r})")
        kind = dn[i:eq].strip()
        if not _DN_TYPE.fullmatch(kind):
            raise ValueError(f"malformed DN {dn!r} (bad attribute type {kind!r})")
        end, quoted = eq + 1, False
        while end < n:
            char = dn[end]
            if char == "\\":
                end += 2
                continue
            if char == '"':
                quoted = not quoted
            elif not quoted and char in ",;+":
                break
            end += 1
        avas.append(f"{kind.lower()}={_strip_value(dn[eq + 1 : end])}")
        if end >= n or dn[end] in ",;":
            rdns.append("+".join(avas))
            avas = []
        if end >= n:
            return ",".join(rdns)
        i = end + 1


def _strip_value(value: str) -> str:
    stripped = value.strip(" ")
    trailing_backslashes = len(stripped) - len(stripped.rstrip("\\"))
    if value.endswith(" ") and trailing_backslashes % 2:
        stripped += " "  # "\ " at the end is an escaped, significant space
    return stripped


def rdn_value(dn: str) -> str:
    return dn.split(",", 1)[0].split("=", 1)[-1]


def _decode(raw: list[bytes]) -> str:
    return b"\n".join(raw).decode("utf-8", "backslashreplace")
