"""The facts the demo month was built around, as tests and dashboards can check them.

``generate`` returns a ``Story`` and writes it as ``story.json``; ``Story.load`` reads it back.
All times are UTC; windows are half-open ``[start, end)``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Window:
    """A period a service was down (``up`` 0, 503s); ``affected`` also served 503s."""

    service: str
    start: datetime
    end: datetime
    affected: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Deploy:
    """A production deploy (also a restart: the service's counters reset to 0)."""

    service: str
    commit: str
    version: str
    time: datetime
    actor: str
    approver: str | None


@dataclass(frozen=True)
class Regression:
    """A deploy that made ``service`` slow (p95 ~150 ms -> ~1.2 s) and ~5 % 5xx until the fix."""

    service: str
    commit: str
    version: str
    time: datetime  # the regression deploy; the regression window is [time, fix_time)
    fix_commit: str
    fix_time: datetime


@dataclass(frozen=True)
class RoleGrant:
    actor: str
    target: str
    role: str
    time: datetime


@dataclass(frozen=True)
class BruteForce:
    """``count`` failed logins for ``target`` from ``ip`` in [start, end], then one success."""

    ip: str
    target: str
    start: datetime
    end: datetime
    count: int
    success_time: datetime


@dataclass(frozen=True)
class DisabledUser:
    """Locked in the directory from ``disabled_on`` (``pwdAccountLockedTime``) yet still signing in."""

    uid: str
    disabled_on: date
    locked_at: datetime
    logins_after: int


@dataclass(frozen=True)
class DirectoryChange:
    uid: str
    day: date  # first snapshot with (joined) / without (left) the user


@dataclass(frozen=True)
class TestRun:
    """The day's end-to-end run: the commit it tested and how its tests ended."""

    day: date
    started: datetime
    commit: str
    expected: int
    unexpected: int
    flaky: int
    skipped: int


@dataclass(frozen=True)
class Story:
    company: str
    seed: int
    start: date
    days: int
    tenants: tuple[str, ...]
    services: tuple[str, ...]
    users: int
    outage: Window
    maintenance: Window
    regression: Regression
    unapproved_deploy: Deploy
    admin_grant: RoleGrant
    brute_force: BruteForce
    disabled_user: DisabledUser
    joined: tuple[DirectoryChange, ...]
    left: tuple[DirectoryChange, ...]
    deploys: tuple[Deploy, ...]
    test_runs: tuple[TestRun, ...] = ()
    totals: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(_plain(dataclasses.asdict(self)), indent=2, sort_keys=False) + "\n"

    @classmethod
    def load(cls, path: Path) -> Story:
        return _build(cls, json.loads(Path(path).read_text()))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_NESTED = {
    "outage": Window,
    "maintenance": Window,
    "regression": Regression,
    "unapproved_deploy": Deploy,
    "admin_grant": RoleGrant,
    "brute_force": BruteForce,
    "disabled_user": DisabledUser,
}
_NESTED_LISTS = {"joined": DirectoryChange, "left": DirectoryChange, "deploys": Deploy, "test_runs": TestRun}


def _build(cls: type, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        value = data[f.name]
        hint = str(f.type)
        if f.name in _NESTED and cls is Story:
            value = _build(_NESTED[f.name], value)
        elif f.name in _NESTED_LISTS and cls is Story:
            value = tuple(_build(_NESTED_LISTS[f.name], v) for v in value)
        elif hint.startswith("datetime"):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif hint == "date":
            value = date.fromisoformat(value)
        elif hint.startswith("tuple") and isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)
