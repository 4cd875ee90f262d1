"""`directory/D.ldif`: the day's snapshot of the company directory (LDIF content records).

Taken at the end of each day: accounts that joined that day are in it, accounts that left are
gone, role grants and revokes of the day are applied, and the account disabled that day
carries ``pwdAccountLockedTime`` (the OpenLDAP ppolicy lock) from then on.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from opsledger.demo.model import BASE_DN, TENANTS
from opsledger.demo.plan import Plan

PEOPLE_OU = f"ou=people,{BASE_DN}"
GROUPS_OU = f"ou=groups,{BASE_DN}"
# Loads into OpenLDAP with ldapadd (slapadd rejects any `version:` line); `pwdAccountLockedTime`
# needs the ppolicy overlay (`moduleload ppolicy` + `overlay ppolicy`) in slapd.conf.
HEAD = f"""version: 1
dn: {BASE_DN}
objectClass: top
objectClass: dcObject
objectClass: organization
dc: northwind
o: Northwind Shop

dn: {PEOPLE_OU}
objectClass: top
objectClass: organizationalUnit
ou: people

dn: {GROUPS_OU}
objectClass: top
objectClass: organizationalUnit
ou: groups
"""
ROLE_GROUPS = {"admin": "admins", "operator": "operators", "auditor": "auditors", "viewer": "viewers"}


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE_OU}"


def person_entries(plan: Plan) -> np.ndarray:
    """One LDIF entry per account (without the lock line), built once for every snapshot."""
    p = plan.people
    tenant = np.array(TENANTS)[p.tenant]
    suffix = pl.Series(p.uid).str.extract(r"(\d+)$").fill_null("")
    frame = pl.DataFrame(
        {"uid": p.uid, "given": p.given, "sn": p.sn, "tenant": tenant, "num": 10_001 + np.arange(len(p))}
    ).with_columns(
        gid=pl.col("tenant").replace_strict({t: str(5001 + i) for i, t in enumerate(TENANTS)}),
        mail=pl.concat_str(
            pl.col("given").str.to_lowercase(),
            pl.lit("."),
            pl.col("sn").str.to_lowercase(),
            suffix,
            pl.lit("@"),
            "tenant",
            pl.lit(".example"),
        ),
    )
    entry = pl.concat_str(
        pl.lit("dn: uid="),
        "uid",
        pl.lit(f",{PEOPLE_OU}\nobjectClass: top\nobjectClass: inetOrgPerson\n"),
        pl.lit("objectClass: posixAccount\nuid: "),
        "uid",
        pl.lit("\ncn: "),
        "given",
        pl.lit(" "),
        "sn",
        pl.lit("\nsn: "),
        "sn",
        pl.lit("\ngivenName: "),
        "given",
        pl.lit("\ndisplayName: "),
        "given",
        pl.lit(" "),
        "sn",
        pl.lit("\nmail: "),
        "mail",
        pl.lit("\nuidNumber: "),
        pl.col("num").cast(pl.String),
        pl.lit("\ngidNumber: "),
        "gid",
        pl.lit("\nhomeDirectory: /home/"),
        "uid",
        pl.lit("\nloginShell: /bin/bash\n"),
    )
    return frame.select(entry).to_series().to_numpy()


def _group(name: str, description: str, members: list[str]) -> str:
    lines = [f"dn: cn={name},{GROUPS_OU}", "objectClass: top", "objectClass: groupOfNames", f"cn: {name}"]
    lines.append(f"description: {description}")
    lines += [f"member: {user_dn(m)}" for m in members]
    return "\n".join(lines) + "\n"


def snapshot(plan: Plan, day: int, entries: np.ndarray) -> tuple[str, int, int]:
    """The LDIF text of one day, its number of entries and of user entries."""
    p = plan.people
    present = p.present(day)
    blocks = entries.copy()
    locked = plan.disabled
    if day >= (locked.disabled_on - plan.start).days:
        i = p.index(locked.uid)
        stamp = locked.locked_at.strftime("%Y%m%d%H%M%SZ")
        blocks[i] = blocks[i] + f"pwdAccountLockedTime: {stamp}\n"
    order = np.argsort(p.uid[present], kind="stable")
    users = blocks[present][order]
    alive = set(p.uid[present].tolist())
    roles = plan.roles_at(plan.day_ms(day + 1) - 1)
    groups = [_group(g, f"Application role {r}", sorted(roles[r] & alive)) for r, g in ROLE_GROUPS.items()]
    groups += [
        _group(f"tenant-{t}", f"Members of tenant {t}", sorted(p.uid[present & (p.tenant == i)].tolist()))
        for i, t in enumerate(TENANTS)
    ]
    text = "\n".join([HEAD, *users.tolist(), *groups])
    return text, 3 + len(users) + len(groups), len(users)


def write(plan: Plan, out_dir, day: int, entries: np.ndarray) -> tuple[int, int]:
    folder = out_dir / "directory"
    folder.mkdir(parents=True, exist_ok=True)
    text, n_entries, n_users = snapshot(plan, day, entries)
    (folder / f"{plan.day_date(day).isoformat()}.ldif").write_text(text)
    return n_entries, n_users
