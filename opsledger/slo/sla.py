"""Monthly SLA reports: uptime of a contract's calendar month, maintenance excluded, and the credit owed.

Semantics (``reference/slo.md``, "SLA, not SLO"):

* The period is the calendar month in the SLA's IANA time zone, counted in real minutes, so a
  month with a DST change has 60 minutes more or fewer (Europe/Berlin, October 2026: 44,700).
* A downtime minute is a minute whose SLI (good / total of the SLO's per-minute facts, all groups
  summed) is below the SLA's ``down_below`` ratio (default: its target); a minute without
  traffic is not downtime (missing data burns no budget). A downtime period is a run of ≥ 1
  consecutive downtime minutes.
* Excluded minutes are those touched by agreed maintenance: windows from the config (a time
  without an offset is in the SLA's zone) and, with ``maintenance_from_audit``, audit events
  ``maintenance.start`` / ``maintenance.end`` whose resource is the SLO's service. A start with no
  end after it runs to the end of the reported month (and is flagged ``open`` in the windows).
  The SLO's corrections (``opsledger.slo.corrections``) are excluded too, listed as windows with
  source ``correction``: the config model has no source field, so no configured window can pass
  for one.
* ``uptime = (minutes − downtime − excluded) / (minutes − excluded)``; downtime inside an
  exclusion does not count. A month wholly excluded has no uptime (None), is met and owes nothing.
* The credit is the largest ``credit_percent`` among the tiers whose ``below`` (a percent) is
  above the uptime; comparisons are exact (fractions), so an uptime of exactly 99.9 % is not
  below a 99.9 tier.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from opsledger import sql
from opsledger.config import CreditTier, Sla
from opsledger.contract import TS
from opsledger.errors import OpsledgerError
from opsledger.slo.corrections import RANGES_SCHEMA, Correction, list_corrections
from opsledger.slo.facts import FactsBuilder, build_facts
from opsledger.slo.spec import SLO

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> tuple[int, int]:
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise OpsledgerError(f"--month {text!r}: expected YYYY-MM, e.g. 2026-10")
    return int(match.group(1)), int(match.group(2))


def month_bounds(year: int, month: int, time_zone: str) -> tuple[datetime, datetime]:
    """The calendar month in ``time_zone`` as UTC instants [start, end)."""
    zone = ZoneInfo(time_zone)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def uptime(minutes: int, downtime: int, excluded: int) -> Fraction | None:
    """Exact uptime; None when every minute is excluded."""
    counted = minutes - excluded
    return None if counted <= 0 else Fraction(counted - downtime, counted)


def credit_percent(tiers: list[CreditTier], value: Fraction | None) -> float:
    """The largest credit among the tiers the uptime is below (0 when none, or no uptime)."""
    if value is None:
        return 0.0
    owed = [t.credit_percent for t in tiers if value * 100 < _exact(t.below)]
    return max(owed, default=0.0)


def target_met(sla: Sla, value: Fraction | None) -> bool:
    if value is None:
        return True
    if sla.target is not None:
        return value >= _exact(sla.target)
    return value * 100 >= _exact(sla.target_percent)


def report_month(
    con: duckdb.DuckDBPyConnection,
    sla: Sla,
    slo: SLO,
    year: int,
    month: int,
    *,
    facts: FactsBuilder = build_facts,
) -> dict:
    """The SLA's month: minute counts, uptime, met, credit, downtime periods and maintenance windows
    (with the SLO's corrections recorded in ``con``)."""
    start, end = month_bounds(year, month, sla.time_zone)
    month_facts = facts(con, slo, start, end)
    maintenance = maintenance_windows(con, sla, slo, start, end, list_corrections(con, slo.name))
    exclusions = pa.table(
        {"start": [w["start"] for w in maintenance], "end": [w["end"] for w in maintenance]},
        schema=RANGES_SCHEMA,
    )
    params = {"month_start": start, "month_end": end, "target": sla.downtime_threshold}
    flags = sql.arrow(con, "slo/sla_flag_minutes", params, sla_facts=month_facts, sla_exclusions=exclusions)
    counts = sql.arrow(con, "slo/sla_summarize_month", sla_minutes=flags).to_pylist()[0]
    periods = sql.arrow(con, "slo/sla_select_downtime_periods", sla_minutes=flags)
    value = uptime(counts["minutes"], counts["downtime_minutes"], counts["excluded_minutes"])
    return {
        "name": sla.name,
        "slo": slo.name,
        "month": f"{year:04d}-{month:02d}",
        "time_zone": sla.time_zone,
        "minutes": counts["minutes"],
        "downtime_minutes": counts["downtime_minutes"],
        "excluded_minutes": counts["excluded_minutes"],
        "uptime": None if value is None else float(value),
        "target": sla.target_ratio,
        "met": target_met(sla, value),
        "credit_percent": credit_percent(sla.credit_tiers, value),
        "downtime_periods": periods.cast(
            pa.schema([("start", TS), ("end", TS), ("minutes", pa.int64())])
        ).to_pylist(),
        "maintenance": maintenance,
    }


def maintenance_windows(
    con: duckdb.DuckDBPyConnection,
    sla: Sla,
    slo: SLO,
    start: datetime,
    end: datetime,
    corrections: Sequence[Correction],
) -> list[dict]:
    """Config windows overlapping the month, then audit-event windows (when enabled), then SLO
    ``corrections`` overlapping it, each with ``source`` (``config``, ``audit``, ``correction``)
    and, for audit windows, whether an end was found (``open`` runs to month end)."""
    zone = ZoneInfo(sla.time_zone)
    windows = []
    for window in sla.maintenance:
        first, last = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (window.start, window.end))
        first, last = first.astimezone(UTC), last.astimezone(UTC)
        if first < end and last > start:
            windows.append(
                {"start": first, "end": last, "source": "config", "reason": window.reason, "open": False}
            )
    if sla.maintenance_from_audit:
        params = {"service": slo.service, "month_start": start, "month_end": end}
        found = con.sql(sql.load("slo/sla_select_maintenance_windows"), params=params).to_arrow_table()
        found = found.cast(pa.schema([("start", TS), ("end", TS), ("closed", pa.bool_())]))
        for row in found.to_pylist():
            windows.append(
                {
                    "start": row["start"],
                    "end": row["end"],
                    "source": "audit",
                    "reason": "maintenance.start / maintenance.end audit events",
                    "open": not row["closed"],
                }
            )
    for correction in corrections:
        if correction.start < end and correction.end > start:
            windows.append(
                {
                    "start": correction.start,
                    "end": correction.end,
                    "source": "correction",
                    "reason": f"SLO correction by {correction.author}: {correction.reason}",
                    "open": False,
                }
            )
    return windows


def _exact(value: float) -> Fraction:
    # 99.9 as a float is 99.900000000000005684…; the tier the user wrote is the decimal 99.9.
    return Fraction(repr(value))
