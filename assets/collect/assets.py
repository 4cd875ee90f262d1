"""Collection assets: each configured live source, per target table, one UTC day partition at a time.

A partition is collected through the same runners as ``opsledger collect`` (``opsledger.live_*``),
so a day is one atomic, accounted batch under the same lake key, the watermark moves only after
the commit, and a run from Dagster and a run from the CLI replace — never duplicate — each other.

Backfill policy: runs of at most a week. The runner commits every day separately anyway, so a
longer run would not be less safe, but a failure marks every partition of its run failed: a week
bounds what a failure greys out and what a retry repeats, while a year of history is ~53 runs
rather than 365 run start-ups.

No ``from __future__ import annotations`` in asset modules: Dagster inspects the real types.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from assets.ingest.assets import DOMAINS
from collectors.elasticsearch_live import ElasticsearchSettings
from collectors.ldap_live import LdapSettings
from collectors.prometheus_live import PrometheusSettings
from opsledger.config_live import LiveSources, identifier
from opsledger.errors import OpsledgerError
from opsledger.ingest import BatchResult
from opsledger.settings import Settings
from pipelines.live_resources import resource_key

BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=7)
GROUP = "collect"


@dataclass(frozen=True)
class CollectTarget:
    """What the hourly schedule needs of a collection asset: its key and watermark name."""

    key: dg.AssetKey
    source: str
    table: str

    @property
    def snapshot(self) -> bool:
        """A directory snapshot: only the current day can be collected."""
        return self.table == "directory"


def collect_targets(live: LiveSources) -> list[CollectTarget]:
    targets = [CollectTarget(_key("prometheus", p.name), p.source, "metric_samples") for p in live.prometheus]
    for es in live.elasticsearch:
        targets += [
            CollectTarget(_key("elasticsearch", es.name, t.table), es.source, t.table) for t in es.targets
        ]
    targets += [CollectTarget(_key("ldap", d.name), d.source, "directory") for d in live.ldap]
    return targets


def _key(kind: str, name: str, *rest: str) -> dg.AssetKey:
    return dg.AssetKey(["collect", kind, identifier(name), *rest])


def _home(context: dg.AssetExecutionContext) -> Settings:
    lake = context.resources.lake
    # The lake is always <home>/lake (Settings.lake_dir); watermarks live beside it in <home>/state.
    return Settings(home=Path(lake.lake_dir).parent, config=Path(lake.config_path))


def _window(context: dg.AssetExecutionContext) -> tuple[datetime, datetime]:
    """The run's days as [start, end), ending now for the current day: the watermark must not move
    past data that did not exist yet when it was collected."""
    window = context.partition_time_window
    return window.start.astimezone(UTC), min(window.end.astimezone(UTC), datetime.now(UTC))


def _failure(resource, exc: OpsledgerError) -> dg.Failure:
    # The collectors already mask credentials; scrubbing the resolved secrets again costs nothing.
    return dg.Failure(description=resource.redact(str(exc)), allow_retries=False)


def _metadata(source: str, url: str, days: list[str], batches: list[BatchResult]) -> dict[str, object]:
    return {
        "source": source,
        "url": url,  # validated free of credentials by the settings model
        "partitions": days[0] if len(days) == 1 else f"{days[0]}…{days[-1]}",
        "days_committed": len(batches),
        "rows_read": sum(b.rows_read for b in batches),
        "rows_written": sum(b.rows_written for b in batches),
        "rows_quarantined": sum(b.rows_quarantined for b in batches),
        "rows_per_table": dg.MetadataValue.json(_per_table(batches)),
    }


def _per_table(batches: list[BatchResult]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for batch in batches:
        for table, rows in batch.rows_per_table.items():
            totals[table] = totals.get(table, 0) + rows
    return totals


def _collect_asset(
    key: dg.AssetKey,
    resource: str,
    partitions: dg.PartitionsDefinition,
    kind: str,
    domain: str,
    description: str,
):
    """The decorator every collection asset shares: daily partitions backfilled a week per run, the
    server's resource and the lake."""
    return dg.asset(
        key=key,
        partitions_def=partitions,
        backfill_policy=BACKFILL,
        required_resource_keys={resource, "lake"},
        group_name=GROUP,
        kinds={kind, "parquet"},
        tags={"domain": domain},
        description=description,
    )


def build_prometheus_asset(
    prom: PrometheusSettings, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    resource = resource_key("prometheus", prom.name)

    @_collect_asset(
        _key("prometheus", prom.name),
        resource,
        partitions,
        "prometheus",
        "metrics",
        f"The configured PromQL queries of Prometheus {prom.name!r}, evaluated over each UTC day into "
        "metric_samples (counters raw, resets kept): the live evidence behind SLOs.",
    )
    def _collect(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        from opsledger.live_metrics import collect_metrics

        source = getattr(context.resources, resource)
        start, end = _window(context)
        try:
            result = collect_metrics(_home(context), source.settings(), start, end)
        except OpsledgerError as exc:
            raise _failure(source, exc) from None
        metadata = _metadata(prom.source, prom.url, context.partition_keys, result.batches)
        return dg.MaterializeResult(metadata={**metadata, "retried_requests": result.retries})

    return _collect


def build_elasticsearch_asset(
    es: ElasticsearchSettings, table: str, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    resource = resource_key("elasticsearch", es.name)

    @_collect_asset(
        _key("elasticsearch", es.name, table),
        resource,
        partitions,
        "elasticsearch",
        DOMAINS[table],
        f"The {table} documents of Elasticsearch {es.name!r} for each UTC day, mapped onto the {table} "
        "table (ECS by default) and paged in bounded memory.",
    )
    def _collect(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        from opsledger.live_events import collect_events

        source = getattr(context.resources, resource)
        start, end = _window(context)
        try:
            [result] = collect_events(_home(context), source.settings(), start, end, tables=[table])
        except OpsledgerError as exc:
            raise _failure(source, exc) from None
        return dg.MaterializeResult(
            metadata=_metadata(es.source, es.url, context.partition_keys, result.batches)
        )

    return _collect


def build_ldap_asset(directory: LdapSettings, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    resource = resource_key("ldap", directory.name)

    @_collect_asset(
        _key("ldap", directory.name),
        resource,
        partitions,
        "ldap",
        "directory",
        f"Today's snapshot of LDAP directory {directory.name!r}: users (enabled or not), groups and "
        "memberships — who could sign in, and with which roles, that day.",
    )
    def _collect(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        from opsledger.live_directory import collect_directory

        source = getattr(context.resources, resource)
        today = datetime.now(UTC).date()
        if context.partition_keys != [today.isoformat()]:
            # A directory has no history to query: a snapshot taken now filed under a past day
            # would claim who had access then, which is exactly what an auditor must not be told.
            raise dg.Failure(
                description=f"{directory.source}: a snapshot shows the directory as it is now, so only "
                f"today's partition ({today}) can be collected, not {', '.join(context.partition_keys)}",
                allow_retries=False,
            )
        try:
            result = collect_directory(_home(context).home_dir, source.settings())
        except OpsledgerError as exc:
            raise _failure(source, exc) from None
        return dg.MaterializeResult(
            metadata=_metadata(directory.source, directory.safe_url, [today.isoformat()], [result])
        )

    return _collect


def collect_assets(live: LiveSources, partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    assets = [build_prometheus_asset(p, partitions) for p in live.prometheus]
    assets += [
        build_elasticsearch_asset(es, t.table, partitions) for es in live.elasticsearch for t in es.targets
    ]
    assets += [build_ldap_asset(d, partitions) for d in live.ldap]
    return assets
