"""LDIF directory snapshots (RFC 2849 content records) → users, groups and memberships.

One record = one LDIF entry. Every entry is read and classified by ``objectClass``:

* users: ``inetOrgPerson``, ``person``, ``organizationalPerson``, ``posixAccount``, AD ``user``
  (AD ``computer`` objects also carry ``person``/``user`` but are machine accounts: no user row);
* groups: ``groupOfNames``, ``groupOfUniqueNames``, ``posixGroup``, AD ``group``;
* anything else (OUs, the domain, containers) is accepted with no row: it was read and understood.

User columns: ``uid`` = ``uid`` else AD ``sAMAccountName``; ``email`` = ``mail``;
``display_name`` = ``displayName`` else ``cn``. An account is **disabled** (``enabled = false``) when

* ``pwdAccountLockedTime`` is present (OpenLDAP ppolicy lockout), or
* AD ``userAccountControl`` has the ACCOUNTDISABLE bit (0x2) set, or
* ``nsAccountLock: true`` (389 Directory Server / FreeIPA);

otherwise it is enabled. Every attribute goes into the ``attributes`` JSON under its lower-cased
name (attribute names are case-insensitive, and exports differ: ``objectClass`` vs
``objectclass``), always as a list of values; a ``::`` base64 value is stored decoded when it is
UTF-8 text without control characters, else as ``{"base64": "..."}``.

Memberships come from ``member`` / ``uniqueMember`` (DNs), ``memberUid`` (posixGroup) and
``memberOf`` on users; they are emitted after the last entry because ``memberUid`` can only be
resolved once every user of the file is known. DNs are normalized: no spaces around ``,``, ``+``
and ``=``, attribute types lower-cased, value case kept.

A change file (``changetype: modify``/``delete``/``modrdn``) is not a snapshot → ``FormatError``;
``changetype: add`` records (what AD's ``ldifde`` exports) carry whole entries and are read as
content. An entry without ``dn:``, with a malformed line, an undecodable value or an external
``attr:< url`` reference (never followed) → ``Reject`` at ``entry N (line L)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from collectors.base import Chunk, FormatError, Reject
from opsledger.contract import table_from_pydict

USER_CLASSES = frozenset({"inetorgperson", "person", "organizationalperson", "posixaccount", "user"})
GROUP_CLASSES = frozenset({"groupofnames", "groupofuniquenames", "posixgroup", "group"})
MACHINE_CLASSES = frozenset({"computer"})
AD_ACCOUNTDISABLE = 0x2

_ATTR_NAME = re.compile(r"(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)(?:;[A-Za-z0-9-]+)*")
_DN_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# nameAndOptionalUID syntax (RFC 4517 §3.3.21): uniqueMember may end in "#'0101'B".
_OPTIONAL_UID = re.compile(r"#'[01]*'B$")

Value = str | dict[str, str]


class EntryError(ValueError):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")


class _ChangeRecord(EntryError):
    pass


@dataclass(frozen=True)
class Entry:
    """One parsed LDIF content record: normalized DN, attributes by lower-cased name."""

    position: str  # "entry N (line L)"
    dn: str
    attributes: dict[str, list[Value]]
    line_of: dict[str, int]  # first line of each attribute, for error messages
    raw: str


def read(
    path: Path, *, source: str, chunk_rows: int = 50_000, observed_at: datetime | None = None
) -> Iterator[Chunk]:
    path = Path(path)
    snapshot = _Snapshot(source, _as_utc(observed_at) if observed_at else None, chunk_rows)
    yield from snapshot.run(path)


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


class _Snapshot:
    """One pass over the entries; memberships wait for the end of the file (see module doc)."""

    def __init__(self, source: str, snapshot_at: datetime | None, chunk_rows: int) -> None:
        self.source, self.snapshot_at, self.chunk_rows = source, snapshot_at, chunk_rows
        self.uid_dns: dict[str, set[str]] = {}
        self.memberships: dict[tuple[str, str], tuple[str, str]] = {}
        self.member_uids: list[tuple[str, str]] = []
        self.member_of: list[tuple[str, str]] = []
        self._reset()

    def _reset(self) -> None:
        self.users: list[tuple] = []
        self.groups: list[tuple] = []
        self.accepted = 0
        self.rejects: list[Reject] = []

    def run(self, path: Path) -> Iterator[Chunk]:
        for item in entries(path):
            if self.snapshot_at is None:
                self.snapshot_at = _mtime(path)
            if isinstance(item, Reject):
                self.rejects.append(item)
            else:
                try:
                    self._classify(item)
                    self.accepted += 1
                except EntryError as exc:
                    self.rejects.append(Reject(item.position, str(exc), item.raw))
            if self.accepted + len(self.rejects) >= self.chunk_rows:
                yield self._flush()
        if self.accepted or self.rejects:
            yield self._flush()
        yield from self._membership_chunks()

    def _classify(self, entry: Entry) -> None:
        dn, attrs, line_of = entry.dn, entry.attributes, entry.line_of
        classes = {v.lower() for v in attrs.get("objectclass", []) if isinstance(v, str)}
        is_user = bool(classes & USER_CLASSES) and not classes & MACHINE_CLASSES
        is_group = bool(classes & GROUP_CLASSES)
        if not (is_user or is_group):
            return
        # Everything that can reject the entry is checked before anything of it is recorded.
        members = [
            _member_dn(_OPTIONAL_UID.sub("", value), name, line_of)
            for name in ("member", "uniquemember")
            if is_group
            for value in _texts(attrs, name)
        ]
        member_of = (
            [_member_dn(value, "memberof", line_of) for value in _texts(attrs, "memberof")] if is_user else []
        )
        enabled = _enabled(attrs, line_of) if is_user else None
        document = json.dumps(attrs, ensure_ascii=False)
        if is_user:
            uid = _first(attrs, "uid") or _first(attrs, "samaccountname")
            display = _first(attrs, "displayname") or _first(attrs, "cn")
            self.users.append((dn, uid, _first(attrs, "mail"), display, enabled, document))
            if uid is not None:
                self.uid_dns.setdefault(uid.lower(), set()).add(dn)
            self.member_of.extend((group_dn, dn) for group_dn in member_of)
        if is_group:
            name = _first(attrs, "cn") or _first(attrs, "samaccountname") or _rdn_value(dn)
            self.groups.append((dn, name, document))
            for member in members:
                self._add_membership(dn, member)
            self.member_uids.extend((dn, uid) for uid in _texts(attrs, "memberuid"))

    def _add_membership(self, group_dn: str, member_dn: str) -> None:
        # DN matching is case-insensitive for the usual naming attributes; keep the first spelling.
        self.memberships.setdefault((group_dn.lower(), member_dn.lower()), (group_dn, member_dn))

    def _flush(self) -> Chunk:
        tables = {
            "directory_users": self._table(
                "directory_users", ("dn", "uid", "email", "display_name", "enabled", "attributes"), self.users
            ),
            "directory_groups": self._table("directory_groups", ("dn", "name", "attributes"), self.groups),
        }
        chunk = Chunk(tables=tables, accepted=self.accepted, rejects=self.rejects)
        self._reset()
        return chunk

    def _membership_chunks(self) -> Iterator[Chunk]:
        for group_dn, uid in self.member_uids:
            dns = self.uid_dns.get(uid.lower(), set())
            # A memberUid with no (or an ambiguous) user in this file stays the raw uid: the
            # account may live in another directory, and inventing a DN would hide that.
            self._add_membership(group_dn, next(iter(dns)) if len(dns) == 1 else uid)
        for group_dn, user_dn in self.member_of:
            self._add_membership(group_dn, user_dn)
        pairs = list(self.memberships.values())
        for start in range(0, len(pairs), self.chunk_rows):
            rows = pairs[start : start + self.chunk_rows]
            yield Chunk(
                tables={
                    "directory_memberships": self._table(
                        "directory_memberships", ("group_dn", "member_dn"), rows
                    )
                }
            )

    def _table(self, name: str, columns: tuple[str, ...], rows: list[tuple]):
        data = {column: [row[i] for row in rows] for i, column in enumerate(columns)}
        data["snapshot_at"] = [self.snapshot_at] * len(rows)
        data["source"] = [self.source] * len(rows)
        return table_from_pydict(name, data)


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
        return name, _binary_value(data)
    try:
        return name, rest.lstrip(b" ").decode("utf-8")
    except UnicodeDecodeError:
        raise EntryError(
            line_no, f"attribute {name!r}: value is not UTF-8 (binary values need '::')"
        ) from None


def _binary_value(data: bytes) -> Value:
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


def _member_dn(value: str, attribute: str, line_of: dict[str, int]) -> str:
    try:
        return normalize_dn(value)
    except ValueError as exc:
        raise EntryError(line_of[attribute], f"attribute {attribute!r}: {exc}") from None


def _enabled(attrs: dict[str, list[Value]], line_of: dict[str, int]) -> bool:
    if "pwdaccountlockedtime" in attrs:
        return False
    if any(v.strip().lower() == "true" for v in _texts(attrs, "nsaccountlock")):
        return False
    for value in _texts(attrs, "useraccountcontrol"):
        try:
            flags = int(value.strip())
        except ValueError:
            raise EntryError(
                line_of["useraccountcontrol"], f"attribute 'userAccountControl': not an integer ({value!r})"
            ) from None
        if flags & AD_ACCOUNTDISABLE:
            return False
    return True


def _texts(attrs: dict[str, list[Value]], name: str) -> list[str]:
    return [v for v in attrs.get(name, []) if isinstance(v, str)]


def _first(attrs: dict[str, list[Value]], name: str) -> str | None:
    values = _texts(attrs, name)
    return values[0] if values else None


def _rdn_value(dn: str) -> str:
    return dn.split(",", 1)[0].split("=", 1)[-1]


def _decode(raw: list[bytes]) -> str:
    return b"\n".join(raw).decode("utf-8", "backslashreplace")


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
