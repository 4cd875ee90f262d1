"""The slo domain: the configured SLOs and SLAs evaluated into marts, and their checks."""

from __future__ import annotations

from assets import DomainDefs
from assets.slo.assets import slo_marts
from assets.slo.checks import (
    alert_intervals_disjoint,
    error_budget_consumed_matches_sli,
    policy_events_meet_their_thresholds,
    sla_uptime_matches_minutes,
)


def defs() -> DomainDefs:
    return DomainDefs(
        assets=[slo_marts],
        asset_checks=[
            error_budget_consumed_matches_sli,
            alert_intervals_disjoint,
            sla_uptime_matches_minutes,
            policy_events_meet_their_thresholds,
        ],
    )
