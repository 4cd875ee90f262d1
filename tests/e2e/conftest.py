"""Browser fixtures: the dashboards served by a real Streamlit process, and Debian's Chromium.

Both are started once per session on 127.0.0.1 and stopped by PID. Chromium may talk to nothing
but 127.0.0.1: every other request is aborted and recorded, so a test can assert the page made
no outside calls (CDNs, usage statistics).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from opsledger.settings import Settings

REPO = Path(__file__).resolve().parents[2]
STREAMLIT = REPO / ".venv" / "bin" / "streamlit"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
STARTUP_TIMEOUT_S = 60.0


@dataclass
class Dashboard:
    url: str
    warehouse_path: Path
    log_path: Path


@dataclass
class OutsideRequests:
    """URLs the route guard aborted because they were not for 127.0.0.1."""

    urls: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"streamlit not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def dashboard(demo_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """``streamlit run dashboards/app.py`` over the built demo warehouse, on a free 127.0.0.1 port,
    stopped by PID at the end."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "OPSLEDGER_HOME": str(demo_home.home_dir)}
    env.pop("OPSLEDGER_CONFIG", None)
    command = [
        str(STREAMLIT),
        "run",
        "dashboards/app.py",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(url, process, log_path)
        yield Dashboard(url=url, warehouse_path=demo_home.warehouse_path, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def outside_requests() -> OutsideRequests:
    return OutsideRequests()


@pytest.fixture
def page(browser: Browser, outside_requests: OutsideRequests) -> Iterator[Page]:
    """A fresh browser context whose requests may only reach 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1400, "height": 1800})

    def guard(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside_requests.urls.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
