"""The month's timeline: who works here, when each service is deployed, and when the story happens.

Story days sit at fixed fractions of the period so a 3-day demo (the tests) and a 30-day demo
(the default) tell the same story: outage, then the regression deploy and its fix, the
disabled account, the brute-force burst, planned maintenance, the admin grant, and last the
unapproved deploy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from opsledger.demo.model import (
    DAY_MS,
    DEPENDENCY_DOWN,
    DOWN,
    MAINTENANCE,
    NORMAL,
    REGRESSION,
    epoch_ms,
    from_ms,
    hex_ids,
    rng_for,
    service_names,
)
from opsledger.demo.people import People, make_people, regular_people
from opsledger.demo.story import (
    BruteForce,
    Deploy,
    DirectoryChange,
    DisabledUser,
    Regression,
    RoleGrant,
    Window,
)

H, M = 3_600_000, 60_000


@dataclass(frozen=True)
class RoleChange:
    time_ms: int
    actor: str
    action: str  # role.grant | role.revoke
    role: str
    target: str


@dataclass
class Plan:
    seed: int
    start: date
    days: int
    scale: float
    scrape_interval_s: int
    services: tuple[str, ...]
    people: People
    outage: Window
    maintenance: Window
    regression: Regression
    unapproved: Deploy
    admin_grant: RoleGrant
    brute: BruteForce
    disabled: DisabledUser
    deploys: list[Deploy]
    role_changes: list[RoleChange]
    joined: list[DirectoryChange]
    left: list[DirectoryChange]
    base_commit: str
    run_ms: list[int]  # start of each day's end-to-end run
    restarts: dict[str, list[int]] = field(default_factory=dict)

    @property
    def epoch0(self) -> int:
        return epoch_ms(self.start)

    def day_ms(self, day: int) -> int:
        return self.epoch0 + day * DAY_MS

    def day_date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def role_service(self, role: str) -> str:
        """The service playing a part of the shop; absent parts fall back to the first service."""
        return role if role in self.services else self.services[0]

    def regime(self, service: str, t_ms: np.ndarray) -> np.ndarray:
        t = np.asarray(t_ms)
        out = np.full(t.shape, NORMAL, dtype=np.int8)
        reg = self.regression
        if service == reg.service:
            out[(t >= epoch_ms(reg.time)) & (t < epoch_ms(reg.fix_time))] = REGRESSION
        in_outage = (t >= epoch_ms(self.outage.start)) & (t < epoch_ms(self.outage.end))
        if service in self.outage.affected:
            out[in_outage] = DEPENDENCY_DOWN
        if service == self.outage.service:
            out[in_outage] = DOWN
        if service == self.maintenance.service:
            out[(t >= epoch_ms(self.maintenance.start)) & (t < epoch_ms(self.maintenance.end))] = MAINTENANCE
        return out

    def commit_at(self, t_ms: int) -> str:
        """The newest deployed commit at ``t_ms`` (one repository, as the e2e suite sees it)."""
        before = [d for d in self.deploys if epoch_ms(d.time) <= t_ms]
        return before[-1].commit if before else self.base_commit

    def roles_at(self, t_ms: int) -> dict[str, set[str]]:
        roles = {r: set(m) for r, m in self.people.roles.items()}
        for ch in self.role_changes:
            if ch.time_ms <= t_ms:
                (roles[ch.role].add if ch.action == "role.grant" else roles[ch.role].discard)(ch.target)
        return roles


def make_plan(
    *, seed: int, start: date, days: int, services: int, users: int, scale: float, scrape_interval_s: int
) -> Plan:
    if days < 1:
        raise ValueError("days must be at least 1")
    if scrape_interval_s < 1 or scale <= 0:
        raise ValueError("scrape_interval_s and scale must be positive")
    rng = rng_for(seed, "plan")
    names = service_names(services)
    people = make_people(rng, users, days)
    t0 = epoch_ms(start)

    def at(frac: float, hour: float, jitter_min: int = 0) -> int:
        day = min(days - 1, int((days - 1) * frac + 0.5))
        return t0 + day * DAY_MS + round(hour * H) + int(rng.integers(0, jitter_min + 1)) * M

    def day_of(ms: int) -> int:
        return (ms - t0) // DAY_MS

    svc = {
        role: (role if role in names else None) for role in ("checkout", "payments", "catalog", "frontend")
    }
    reg_service = svc["checkout"] or names[min(1, len(names) - 1)]
    out_service = svc["payments"] or names[-1]
    mnt_service = svc["catalog"] or names[0]

    out_start = at(0.2, 13 + 52 / 60, 5)
    outage = Window(
        out_service,
        from_ms(out_start),
        from_ms(out_start + int(rng.integers(42, 49)) * M),
        tuple(s for s in ("checkout",) if s in names and s != out_service),
        "database connection pool exhausted after a failover of payments-db",
    )
    mnt_start = at(0.65, 2.0)
    maintenance = Window(
        mnt_service,
        from_ms(mnt_start),
        from_ms(mnt_start + 30 * M),
        (),
        "planned database minor version upgrade",
    )
    reg_ms = at(0.45, 10.25, 30)
    reg_day = day_of(reg_ms)
    fix_day = min(reg_day + 3, days - 1)
    fix_ms = t0 + fix_day * DAY_MS + int(11 * H) + int(rng.integers(0, 21)) * M
    if fix_day == reg_day:
        fix_ms = reg_ms + 5 * H
    unapproved_ms = at(0.8, 16 + 40 / 60, 20)
    unapproved_service = next((s for s in names if s != reg_service), names[0])

    regular = regular_people(people, set())
    regular = regular[rng.permutation(len(regular))]
    disabled_uid, brute_uid = people.uid[regular[0]], people.uid[regular[1]]
    pool = regular[2:]
    admins, operators = sorted(map(str, people.roles["admin"])), sorted(map(str, people.roles["operator"]))

    # Deploys: every few days per service, kept off the days the story needs clean.
    blocked_all = {reg_day, fix_day}
    candidates: list[tuple[int, str, str]] = []
    for s in names:
        day = int(rng.integers(0, 3))
        while day < days:
            blocked = (
                blocked_all
                | (set(range(reg_day, fix_day + 1)) if s == reg_service else set())
                | ({day_of(out_start)} if s == out_service else set())
                | ({day_of(unapproved_ms)} if s == unapproved_service else set())
            )
            if day not in blocked:
                candidates.append(
                    (t0 + day * DAY_MS + int(9 * H) + int(rng.integers(0, 8 * 60)) * M, s, "routine")
                )
            day += int(rng.integers(2, 6))
    candidates += [(reg_ms, reg_service, "regression"), (fix_ms, reg_service, "fix")]
    candidates.append((unapproved_ms, unapproved_service, "unapproved"))
    candidates.sort()
    commits = hex_ids(rng, len(candidates) + 1, 20)
    version = {s: [1, int(rng.integers(2, 9)), int(rng.integers(0, 9))] for s in names}
    deploys, by_kind = [], {}
    for (ms, s, kind), commit in zip(candidates, commits[1:], strict=True):
        v = version[s]
        v[1:] = [v[1] + 1, 0] if kind == "regression" else [v[1], v[2] + 1]
        actor = operators[int(rng.integers(0, len(operators)))]
        approvers = [u for u in admins + operators if u != actor]
        approver = None if kind == "unapproved" else approvers[int(rng.integers(0, len(approvers)))]
        deploys.append(Deploy(s, str(commit), ".".join(map(str, v)), from_ms(ms), actor, approver))
        by_kind[kind] = deploys[-1]

    regression = Regression(
        reg_service,
        by_kind["regression"].commit,
        by_kind["regression"].version,
        by_kind["regression"].time,
        by_kind["fix"].commit,
        by_kind["fix"].time,
    )
    restarts = {s: [epoch_ms(d.time) for d in deploys if d.service == s] for s in names}
    restarts[out_service].append(epoch_ms(outage.end))
    restarts[mnt_service].append(epoch_ms(maintenance.end))
    restarts = {s: sorted(v) for s, v in restarts.items()}

    grant_ms = at(0.7, 16 + 20 / 60, 30)
    promoted = operators[int(rng.integers(0, len(operators)))]
    admin_grant = RoleGrant(admins[int(rng.integers(0, len(admins)))], promoted, "admin", from_ms(grant_ms))
    changes = [RoleChange(grant_ms, admin_grant.actor, "role.grant", "admin", promoted)]
    n_changes = max(2, days // 5)
    for target in pool[:n_changes]:
        role = "operator" if rng.random() < 0.6 else "auditor"
        g_ms = t0 + int(rng.integers(0, days)) * DAY_MS + int(9 * H) + int(rng.integers(0, 9 * 60)) * M
        actor = admins[int(rng.integers(0, len(admins)))]
        uid = str(people.uid[target])
        changes.append(RoleChange(g_ms, actor, "role.grant", role, uid))
        if rng.random() < 0.5:
            changes.append(
                RoleChange(g_ms + int(rng.integers(1, 4)) * DAY_MS, actor, "role.revoke", role, uid)
            )
    changes.sort(key=lambda c: (c.time_ms, c.target))

    joined: list[DirectoryChange] = []
    left: list[DirectoryChange] = []
    if days >= 2:
        n_join, n_leave = max(1, users // 40), max(1, users // 50)
        movers = pool[n_changes : n_changes + n_join + n_leave]
        for i, idx in enumerate(movers):
            day = int(rng.integers(1, days))
            if i < n_join:
                people.join_day[idx] = day
                joined.append(DirectoryChange(str(people.uid[idx]), start + timedelta(days=day)))
            else:
                people.leave_day[idx] = day
                left.append(DirectoryChange(str(people.uid[idx]), start + timedelta(days=day)))

    b_start = at(0.6, 3.2, 10)
    n_fail = int(rng.integers(34, 47))
    span = int(rng.integers(200, 281)) * 1000
    b_end = b_start + span
    brute = BruteForce(
        f"192.0.2.{int(rng.integers(10, 250))}",
        str(brute_uid),
        from_ms(b_start),
        from_ms(b_end),
        n_fail,
        from_ms(b_end + int(rng.integers(20, 46)) * 1000),
    )
    lock_ms = at(0.4, 9.5, 45)
    disabled = DisabledUser(
        str(disabled_uid), start + timedelta(days=day_of(lock_ms)), from_ms(lock_ms), days - day_of(lock_ms)
    )
    run_ms = [t0 + d * DAY_MS + int(14 * H) + 5 * M + int(rng.integers(0, 5)) * M for d in range(days)]
    return Plan(
        seed=seed,
        start=start,
        days=days,
        scale=scale,
        scrape_interval_s=scrape_interval_s,
        services=names,
        people=people,
        outage=outage,
        maintenance=maintenance,
        regression=regression,
        unapproved=by_kind["unapproved"],
        admin_grant=admin_grant,
        brute=brute,
        disabled=disabled,
        deploys=deploys,
        role_changes=changes,
        joined=joined,
        left=left,
        base_commit=str(commits[0]),
        run_ms=run_ms,
        restarts=restarts,
    )
