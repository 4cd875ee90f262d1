"""The people of the demo company: directory accounts, their tenant, roles and habits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opsledger.demo.model import TENANT_SHARE, TENANTS

# fmt: off
FIRST = (
    "Ada", "Alan", "Alice", "Amir", "Ana", "Anders", "Aisha", "Ben", "Bianca", "Carla", "Chen", "Chloe",
    "Daniel", "Dara", "Diego", "Elena", "Emil", "Emma", "Eva", "Farah", "Felix", "Grace", "Hana", "Hugo",
    "Ines", "Ivan", "Jae", "Jana", "Jonas", "Julia", "Kai", "Kenji", "Lara", "Leo", "Lina", "Luca", "Maya",
    "Mateo", "Mia", "Nadia", "Nico", "Noah", "Olga", "Omar", "Paula", "Priya", "Quinn", "Rafael", "Rosa",
    "Sam", "Sara", "Sofia", "Tariq", "Tom", "Uma", "Victor", "Yara", "Zoe",
)
LAST = (
    "Abbott", "Alvarez", "Andersen", "Baker", "Becker", "Brooks", "Campbell", "Castro", "Chen", "Clarke",
    "Cohen", "Costa", "Dahl", "Diaz", "Dubois", "Edwards", "Evans", "Fischer", "Flores", "Garcia", "Gomez",
    "Green", "Hansen", "Harris", "Hayes", "Hughes", "Ito", "Jensen", "Johnson", "Kaur", "Keller", "Kim",
    "Klein", "Kowalski", "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Murphy", "Nakamura",
    "Nguyen", "Novak", "Olsen", "Ortiz", "Park", "Patel", "Perez", "Petrov", "Quinn", "Ramos", "Reyes",
    "Rossi", "Russo", "Sato", "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor", "Torres",
    "Turner", "Wagner", "Walsh", "Weber", "Wilson", "Wong", "Yamamoto", "Young", "Zhang",
)
# fmt: on
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:143.0) Gecko/20100101 Firefox/143.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 "
    "Mobile Safari/537.36",
)
BROWSERS = ("Chrome", "Safari", "Firefox", "Mobile Safari", "Chrome")
OSES = ("Windows", "Mac OS X", "Linux", "iOS", "Android")
UA_SHARE = (0.38, 0.17, 0.1, 0.2, 0.15)
# Documentation ranges (RFC 5737) so no demo address belongs to anyone; 192.0.2.0/24 is kept
# for addresses outside the customer base (the attacker).
USER_NETS = ("203.0.113", "198.51.100")
ROLES = ("admin", "operator", "auditor", "viewer")


@dataclass
class People:
    """One row per directory account, as parallel arrays (index = person)."""

    uid: np.ndarray
    given: np.ndarray
    sn: np.ndarray
    tenant: np.ndarray  # index into TENANTS
    join_day: np.ndarray  # first day the account exists
    leave_day: np.ndarray  # first day it no longer exists (= days when it stays)
    ip: np.ndarray
    mfa: np.ndarray
    weight: np.ndarray  # how often the person shops
    agent: np.ndarray  # index into USER_AGENTS
    roles: dict[str, set[str]]  # initial application roles (viewer = everyone)

    def __len__(self) -> int:
        return len(self.uid)

    def index(self, uid: str) -> int:
        return int(np.flatnonzero(self.uid == uid)[0])

    def present(self, day: int) -> np.ndarray:
        return (self.join_day <= day) & (day < self.leave_day)


def make_people(rng: np.random.Generator, n: int, days: int) -> People:
    if n < 12:
        raise ValueError("users must be at least 12 (staff roles, attacker target, disabled user)")
    given = np.array(FIRST)[rng.integers(0, len(FIRST), n)]
    sn = np.array(LAST)[rng.integers(0, len(LAST), n)]
    base = np.char.lower(np.char.add(np.char.ljust(given, 1).astype("U1"), sn))
    uid = _dedupe(base)
    tenant = rng.choice(len(TENANTS), size=n, p=TENANT_SHARE)
    ips = np.array(
        [f"{USER_NETS[(i // 254) % 2]}.{i % 254 + 1}" for i in range(min(n, 508))]
        + [f"100.64.{(i - 508) // 254}.{(i - 508) % 254 + 1}" for i in range(508, n)]
    )
    ip = ips[rng.permutation(n)]
    people = People(
        uid=uid,
        given=given,
        sn=sn,
        tenant=tenant,
        join_day=np.zeros(n, dtype=np.int64),
        leave_day=np.full(n, days, dtype=np.int64),
        ip=ip,
        mfa=rng.random(n) < 0.35,
        weight=rng.lognormal(0.0, 0.9, n),
        agent=rng.choice(len(USER_AGENTS), size=n, p=UA_SHARE),
        roles={r: set() for r in ROLES},
    )
    n_admin, n_oper, n_audit = max(2, n // 100), max(3, n // 40), max(1, n // 150)
    staff = rng.permutation(n)[: n_admin + n_oper + n_audit]
    people.roles["admin"] = set(uid[staff[:n_admin]])
    people.roles["operator"] = set(uid[staff[n_admin : n_admin + n_oper]])
    people.roles["auditor"] = set(uid[staff[n_admin + n_oper :]])
    people.roles["viewer"] = set(uid)
    return people


def _dedupe(base: np.ndarray) -> np.ndarray:
    seen: dict[str, int] = {}
    out = []
    for b in base.tolist():
        seen[b] = seen.get(b, 0) + 1
        out.append(b if seen[b] == 1 else f"{b}{seen[b]}")
    return np.array(out)


def regular_people(people: People, exclude: set[str]) -> np.ndarray:
    """Indices of accounts with no staff role and not in ``exclude``, in a stable order."""
    staff = people.roles["admin"] | people.roles["operator"] | people.roles["auditor"] | exclude
    return np.flatnonzero(~np.isin(people.uid, sorted(staff)))
