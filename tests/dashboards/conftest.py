"""The Streamlit app opened headless (AppTest) on one page of a built demo warehouse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from opsledger.settings import Settings

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch) -> Callable[[Settings, str], AppTest]:
    """``open_page(home, "views/slos.py")``: the app over ``home``, switched to that page, which
    must render without an exception."""

    def open_(home: Settings, page: str) -> AppTest:
        monkeypatch.setenv("OPSLEDGER_HOME", str(home.home_dir))
        monkeypatch.delenv("OPSLEDGER_CONFIG", raising=False)
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return open_
