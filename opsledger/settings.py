"""Paths and environment: one pydantic settings object (``OPSLEDGER_*`` variables)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where opsledger keeps its state. Secrets never live here: they come from the environment
    variables that each source's config names, read only when a collector connects."""

    model_config = SettingsConfigDict(env_prefix="OPSLEDGER_", frozen=True)

    home: Path = Field(
        default=Path(".opsledger"), description="OPSLEDGER_HOME: lake, warehouse, Dagster state"
    )
    config: Path | None = Field(
        default=None, description="OPSLEDGER_CONFIG: defaults to $OPSLEDGER_HOME/opsledger.yaml"
    )

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def config_path(self) -> Path:
        return (self.config or self.home_dir / "opsledger.yaml").expanduser().resolve()

    @property
    def lake_dir(self) -> Path:
        return self.home_dir / "lake"

    @property
    def warehouse_path(self) -> Path:
        return self.home_dir / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home_dir / "dagster"

    @property
    def demo_dir(self) -> Path:
        return self.home_dir / "demo"
