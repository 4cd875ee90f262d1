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

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from collectors.base import Chunk, Reject
from collectors.ldif_records import Entry, EntryError, Value, entries, normalize_dn, rdn_value
from opsledger.contract import table_from_pydict

USER_CLASSES = frozenset({"inetorgperson", "person", "organizationalperson", "posixaccount", "user"})
GROUP_CLASSES = frozenset({"groupofnames", "groupofuniquenames", "posixgroup", "group"})
MACHINE_CLASSES = frozenset({"computer"})
AD_ACCOUNTDISABLE = 0x2

# nameAndOptionalUID syntax (RFC 4517 §3.3.21): uniqueMember may end in "#'0101'B".
_OPTIONAL_UID = re.compile(r"#'[01]*'B$")


def read(
    path: Path, *, source: str, chunk_rows: int = 50_000, observed_at: datetime | None = None
) -> Iterator[Chunk]:
    path = Path(path)
    snapshot = Snapshot(source, _as_utc(observed_at) if observed_at else None, chunk_rows)
    yield from snapshot.run(path)


class Snapshot:
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

    def add(self, item: Entry | Reject) -> Chunk | None:
        """Account for one entry; a full chunk when ``chunk_rows`` records have gathered."""
        if isinstance(item, Reject):
            self.rejects.append(item)
        else:
            try:
                self._classify(item)
                self.accepted += 1
            except EntryError as exc:
                self.rejects.append(Reject(item.position, str(exc), item.raw))
        return self._flush() if self.accepted + len(self.rejects) >= self.chunk_rows else None

    def run(self, path: Path) -> Iterator[Chunk]:
        for item in entries(path):
            if self.snapshot_at is None:
                self.snapshot_at = _mtime(path)
            if chunk := self.add(item):
                yield chunk
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
            name = _first(attrs, "cn") or _first(attrs, "samaccountname") or rdn_value(dn)
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


def _member_dn(value: str, attribute: str, line_of: dict[str, int | None]) -> str:
    try:
        return normalize_dn(value)
    except ValueError as exc:
        raise EntryError(line_of[attribute], f"attribute {attribute!r}: {exc}") from None


def _enabled(attrs: dict[str, list[Value]], line_of: dict[str, int | None]) -> bool:
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


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
