"""Shared fixtures: a temp OPSLEDGER_HOME, and a small generated demo company (once per session)."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from opsledger.settings import Settings

# Hypothesis keeps its example database and caches under ./.hypothesis by default; tests never
# write into the working directory, so it gets a temp home for the whole session.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="opsledger-hypothesis-"))

DEMO_START = date(2026, 10, 1)
DEMO_DAYS = 3


@pytest.fixture
def home(tmp_path, monkeypatch) -> Settings:
    """An empty OPSLEDGER_HOME in a temp folder, also exported for code that reads the environment."""
    monkeypatch.setenv("OPSLEDGER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
    return Settings(home=tmp_path / "home")


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory) -> Settings:
    """A home holding a small generated demo company and its opsledger.yaml (nothing ingested)."""
    from opsledger.demo import generate
    from opsledger.samples import demo_config as demo_yaml

    settings = Settings(home=tmp_path_factory.mktemp("demo") / "home")
    story = generate(settings.demo_dir, seed=7, start=DEMO_START, days=DEMO_DAYS, users=60, scale=0.2)
    settings.config_path.write_text(demo_yaml(DEMO_START, list(story.tenants)), encoding="utf-8")
    return settings


@pytest.fixture(scope="session")
def demo_home(demo_config) -> Settings:
    """The small demo ingested into the lake and built into the warehouse (views + marts)."""
    from opsledger import warehouse
    from opsledger.config import load_config
    from opsledger.contract import INGEST_KINDS
    from opsledger.ingest import ingest_day

    config = load_config(demo_config.config_path)
    for offset in range(DEMO_DAYS):
        for kind in INGEST_KINDS:
            ingest_day(demo_config.lake_dir, config, kind, DEMO_START + timedelta(days=offset))
    warehouse.build(demo_config.warehouse_path, demo_config.lake_dir, config)
    return demo_config
