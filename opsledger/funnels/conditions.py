"""Step and exclusion conditions as SQL built only from fixed fragments.

The only text substituted into ``sql/funnels/create_funnel_events.sql`` is made here from the
fragments below and parameter names numbered by position; every event name and property value
is a bound parameter, so nothing a user typed ever becomes SQL.
"""

from __future__ import annotations

import json
from typing import Any

from opsledger import sql
from opsledger.funnels.identities import mapping_sql
from opsledger.funnels.spec import Exclusion, FunnelSpec, Step

# The counting unit → the column of product_events (as ``e``) a funnel is evaluated within (totals
# still chain within a person).
UNIT_COLUMNS = {"persons": "e.distinct_id", "totals": "e.distinct_id", "sessions": "e.session_id"}
_MERGED_PERSON = "coalesce(i.person_id, e.distinct_id)"
_IDENTITY_JOIN = "left join ({mapping}) as i on i.distinct_id = e.distinct_id"

# How a unit's events at one instant are ordered (create_funnel_events): the first step an event
# matches (two different steps at one instant are taken in step order), then content, so ties never
# depend on storage order. Of the events that match one step at one instant, the breakdown value
# (bd) decides which is step 1 or the last step, which is why the ordered engine needs only that.
SAME_INSTANT = "coalesce(list_position(steps, true), 1000), event, bd, properties::varchar, session_id"

_EVENT = "e.event = ${name}"
_PROPERTY = "json_extract_string(e.properties, ${key}) = ${value}"


def _text(value: Any) -> str:
    # Property values are compared as the JSON text DuckDB extracts: 10 → "10", True → "true".
    return value if isinstance(value, str) else json.dumps(value)


def pointer(key: str) -> str:
    """A property name as a JSON pointer, so keys like ``$browser`` or ``a.b`` are taken literally."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _condition(prefix: str, item: Step | Exclusion, params: dict[str, Any]) -> str:
    params[f"{prefix}_e"] = item.event
    parts = [_EVENT.format(name=f"{prefix}_e")]
    for j, (key, value) in enumerate(sorted(item.properties.items())):
        params[f"{prefix}_k{j}"] = pointer(key)
        params[f"{prefix}_v{j}"] = _text(value)
        parts.append(_PROPERTY.format(key=f"{prefix}_k{j}", value=f"{prefix}_v{j}"))
    return "(" + " and ".join(parts) + ")"


def unit_sql(spec: FunnelSpec) -> tuple[str, str, dict[str, Any]]:
    """The unit expression over ``product_events as e``, the join it needs and its parameters:
    with an identity mapping, persons and totals count the mapped person (sessions stay sessions)."""
    if spec.identities is None or spec.count == "sessions":
        return UNIT_COLUMNS[spec.count], "", {}
    join = _IDENTITY_JOIN.replace("{mapping}", mapping_sql(spec.identities))
    return _MERGED_PERSON, join, {"identities": spec.identities}


def events_statement(template: str, spec: FunnelSpec) -> tuple[str, dict[str, Any]]:
    """A statement over the funnel's events (``{rows}``: select_funnel_event_rows) with its generated
    pieces filled in, and its parameters."""
    params: dict[str, Any] = {
        "breakdown": None if spec.breakdown is None else pointer(spec.breakdown),
        "tenant": spec.tenant,
        "date_from": spec.date_from,
        "date_to": spec.date_to,
        # Strict funnels must see every event: any non-step event breaks the chain.
        "all_events": spec.mode == "strict",
        "event_names": sorted({s.event for s in spec.steps} | {x.event for x in spec.exclusions}),
    }
    steps = ", ".join(_condition(f"s{i}", step, params) for i, step in enumerate(spec.steps))
    exclusions = ", ".join(_condition(f"x{i}", x, params) for i, x in enumerate(spec.exclusions))
    unit, join, unit_params = unit_sql(spec)
    params |= unit_params
    text = (
        template.replace("{rows}", sql.load("funnels/select_funnel_event_rows"))
        .replace("{unit}", unit)
        .replace("{identity_join}", join)
        .replace("{steps}", steps)
        .replace("{exclusions}", exclusions)
        .replace("{same_instant}", SAME_INSTANT)
    )
    return text, params


def gap_us(spec: FunnelSpec, k: int) -> int:
    """Microseconds step ``k`` (1-based) must come after step ``k - 1``: 0 (same instant allowed,
    taken in step order) unless its event already appears earlier in the funnel, when it needs a
    strictly later event so that one event never satisfies two steps."""
    earlier = {s.event for s in spec.steps[: k - 1]}
    return 1 if spec.steps[k - 1].event in earlier else 0
