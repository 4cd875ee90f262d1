"""Resources: where the lake and the config are, and the DuckDB warehouse connection.

Both are configured with plain paths from ``Settings`` when the definitions load; nothing is
opened until an asset asks for it, so loading the definitions never touches DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from opsledger import warehouse
from opsledger.config import OpsledgerConfig, load_config

# DuckDB allows one writing process per file: every asset or check that opens the warehouse is in
# this pool, whose limit is 1 (deploy/dagster.yaml: concurrency.pools.default_limit).
DUCKDB_POOL = "duckdb"


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake and the ``opsledger.yaml`` whose sources feed it."""

    lake_dir: str
    config_path: str

    @property
    def path(self) -> Path:
        return Path(self.lake_dir)

    def load_config(self) -> OpsledgerConfig:
        # Read at run time, so an edited source list applies to the next run without a reload.
        return load_config(Path(self.config_path))


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file; only assets and checks in ``DUCKDB_POOL`` may connect."""

    warehouse_path: str

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = warehouse.connect(Path(self.warehouse_path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()
