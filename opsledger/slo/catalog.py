"""The SLOs an ``opsledger.yaml`` configures: the specs under ``slos.specs`` (folders or files,
relative to the config file), each name used once, so the CLI, SLAs and assets can refer to one."""

from __future__ import annotations

from pathlib import Path

from opsledger.config import OpsledgerConfig
from opsledger.errors import ConfigError
from opsledger.slo.loaders import load_specs
from opsledger.slo.spec import SLO


def load_configured(config: OpsledgerConfig) -> list[SLO]:
    """Every configured SLO, in the order of ``slos.specs`` and of the files in each folder."""
    paths = [p if Path(p).is_absolute() else config.base_dir / p for p in config.slos.specs]
    slos = load_specs(paths)
    seen: dict[str, SLO] = {}
    for item in slos:
        if item.name in seen:
            first = seen[item.name].origin.path
            raise ConfigError(f"{item.origin.path}: SLO name {item.name!r} is already used in {first}")
        seen[item.name] = item
    return slos


def find(slos: list[SLO], name: str) -> SLO:
    """The configured SLO called ``name``; an unknown name is one line listing the known ones."""
    for item in slos:
        if item.name == name:
            return item
    known = ", ".join(s.name for s in slos) or "none configured (slos.specs in opsledger.yaml)"
    raise ConfigError(f"no SLO named {name!r} (known: {known})")
