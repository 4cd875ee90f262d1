"""Funnel marts: the configured funnels of ``opsledger.yaml`` computed into warehouse tables, so
the dashboard only reads (its page does no funnel work)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from pydantic import ValidationError

from opsledger.config import OpsledgerConfig
from opsledger.errors import ConfigError
from opsledger.funnels.engine import funnel_steps, funnel_trends, time_to_convert
from opsledger.funnels.spec import FunnelSpec
from opsledger.funnels.why import why_dropped


def _why_by_step(con: duckdb.DuckDBPyConnection, spec: FunnelSpec) -> pa.Table:
    """Per step k < n, the services' backend evidence for those who reached k but not k + 1."""
    parts = []
    for step in range(1, len(spec.steps)):
        services = why_dropped(con, spec, step)["services"]
        parts.append(services.add_column(0, "step", pa.array([step] * services.num_rows, pa.int32())))
    return pa.concat_tables(parts)


# Mart table → how one funnel's rows are computed; the only identifiers ever substituted.
MARTS = {
    "mart_funnel_steps": lambda con, spec: funnel_steps(con, spec),
    "mart_funnel_trends": lambda con, spec: funnel_trends(con, spec, "day"),
    "mart_funnel_time_to_convert": lambda con, spec: time_to_convert(con, spec),
    "mart_funnel_why": _why_by_step,
}


def configured_funnels(config: OpsledgerConfig, config_path: str = "opsledger.yaml") -> list[FunnelSpec]:
    """Every ``funnels:`` entry as a validated spec; a bad one fails naming its index and field."""
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
        specs.append(spec)
    return specs


def build_funnel_marts(con: duckdb.DuckDBPyConnection, specs: list[FunnelSpec]) -> dict[str, int]:
    """(Re)create one table per mart holding every configured funnel's rows (column ``funnel``)."""
    counts: dict[str, int] = {}
    for table, compute in MARTS.items():
        parts = [_named(compute(con, spec), spec.name) for spec in specs]
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
