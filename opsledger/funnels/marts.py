"""Funnel marts: the configured funnels of ``opsledger.yaml`` computed into warehouse tables, so
the dashboard only reads (its page does no funnel work)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from pydantic import ValidationError

from opsledger import sql
from opsledger.config import OpsledgerConfig
from opsledger.errors import ConfigError
from opsledger.funnels.engine import evaluated, funnel_steps, funnel_trends, time_to_convert
from opsledger.funnels.identities import check_identities, resolve
from opsledger.funnels.spec import FunnelSpec
from opsledger.funnels.why import why_dropped

# Offered breakdowns when a funnel names none: a handful, each splitting into a readable few groups.
AUTO_BREAKDOWN_KEYS = 5
AUTO_BREAKDOWN_MAX_VALUES = 20


def _why_by_step(con: duckdb.DuckDBPyConnection, spec: FunnelSpec) -> pa.Table:
    """Per drop-off step k (2..n; PostHog's convention: reached k - 1, not k), the services' backend
    evidence for those who dropped off there against those who converted to k."""
    parts = []
    for step in range(2, len(spec.steps) + 1):
        services = why_dropped(con, spec, step)["services"]
        parts.append(services.add_column(0, "dropoff_step", pa.array([step] * services.num_rows, pa.int32())))
    return pa.concat_tables(parts)


def _people(con: duckdb.DuckDBPyConnection, spec: FunnelSpec) -> pa.Table:
    """Every unit that entered, with the deepest step of its counted attempt: those who dropped off
    at step k are ``deepest_step = k - 1``, those who converted to k ``deepest_step >= k``."""
    with evaluated(con, spec):
        # Step 1, converted: everyone who reached at least step 1, i.e. all who entered.
        return sql.arrow(con, "funnels/select_funnel_people", {"step": 1, "dropped": False})


def breakdown_properties(con: duckdb.DuckDBPyConnection, spec: FunnelSpec) -> list[str]:
    """The funnel's breakdown and ``breakdowns``; when it names none, the step-1 events' properties
    with a few distinct values (``sql/funnels/select_breakdown_properties.sql``)."""
    named = list(dict.fromkeys([*([spec.breakdown] if spec.breakdown else []), *spec.breakdowns]))
    if named:
        return named
    params = {
        "event": spec.steps[0].event,
        "tenant": spec.tenant,
        "max_values": AUTO_BREAKDOWN_MAX_VALUES,
        "max_keys": AUTO_BREAKDOWN_KEYS,
    }
    return [row[0] for row in con.execute(sql.load("funnels/select_breakdown_properties"), params).fetchall()]


def _breakdowns(con: duckdb.DuckDBPyConnection, spec: FunnelSpec) -> pa.Table:
    """Per offered breakdown property, value and step: the same columns as the steps mart's groups;
    ``property_order`` puts the funnel's own breakdown first."""
    parts = []
    for order, prop in enumerate(breakdown_properties(con, spec)):
        rows = funnel_steps(con, spec.model_copy(update={"breakdown": prop}))
        rows = rows.filter(pa.compute.invert(rows["is_total"])).drop_columns(["is_total"])
        rows = rows.add_column(0, "property_order", pa.array([order] * rows.num_rows, pa.int32()))
        parts.append(rows.add_column(0, "property", pa.array([prop] * rows.num_rows, pa.string())))
    return pa.concat_tables(parts) if parts else None


# The mart tables, the only identifiers ever substituted into SQL here.
MARTS = (
    "mart_funnel_steps",
    "mart_funnel_breakdowns",
    "mart_funnel_trends",
    "mart_funnel_time_to_convert",
    "mart_funnel_people",
    "mart_funnel_why",
)


def _rows(con: duckdb.DuckDBPyConnection, spec: FunnelSpec) -> dict[str, pa.Table | None]:
    """One funnel's rows per mart. Steps, time to convert, people and every step's why share one
    evaluation of the funnel; trends (counted per period) and breakdowns (one per property) need
    their own."""
    with evaluated(con, spec):
        rows = {
            "mart_funnel_steps": funnel_steps(con, spec),
            "mart_funnel_time_to_convert": time_to_convert(con, spec),
            "mart_funnel_people": _people(con, spec),
            "mart_funnel_why": _why_by_step(con, spec),
        }
    rows["mart_funnel_trends"] = funnel_trends(con, spec, "day")
    rows["mart_funnel_breakdowns"] = _breakdowns(con, spec)
    return rows


def configured_funnels(config: OpsledgerConfig, config_path: str = "opsledger.yaml") -> list[FunnelSpec]:
    """Every ``funnels:`` entry as a validated spec; a bad one fails naming its index and field.
    A relative ``identities`` file is taken from the config file's folder."""
    specs = []
    for index, data in enumerate(config.funnels):
        try:
            spec = FunnelSpec.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or "funnel"
            raise ConfigError(f"{config_path}: funnels[{index}].{field}: {error['msg']}") from None
        if not spec.name:
            raise ConfigError(f"{config_path}: funnels[{index}].name: a configured funnel needs a name")
        if spec.identities:
            spec = spec.model_copy(update={"identities": resolve(spec.identities, config.base_dir)})
        specs.append(spec)
    return specs


def build_funnel_marts(con: duckdb.DuckDBPyConnection, specs: list[FunnelSpec]) -> dict[str, int]:
    """(Re)create one table per mart holding every configured funnel's rows (column ``funnel``)."""
    for spec in specs:
        if spec.identities:
            check_identities(con, spec.identities)
    per_funnel = [(spec.name, _rows(con, spec)) for spec in specs]
    counts: dict[str, int] = {}
    for table in MARTS:
        parts = [_named(rows[table], name) for name, rows in per_funnel if rows[table] is not None]
        if not parts:
            con.execute(f"drop table if exists {table}")
            continue
        rows = pa.concat_tables(parts, promote_options="default")
        con.register("funnel_mart_rows", rows)
        try:
            con.execute(f"create or replace table {table} as select * from funnel_mart_rows")
        finally:
            con.unregister("funnel_mart_rows")
        counts[table] = rows.num_rows
    return counts


def _named(rows: pa.Table, name: str) -> pa.Table:
    return rows.add_column(0, "funnel", pa.array([name] * rows.num_rows, pa.string()))
