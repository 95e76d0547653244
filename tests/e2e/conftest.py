"""Browser tests: a live server and headless Debian Chromium, on the committed test
database (``committed_database_url``): the browser's work commits, so it stays out of the
rolled-back database the other tests share."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import process_database
from tests.support.processes import live_server

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return (
        os.environ.get("KILOWATCH_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        yield instance
        instance.close()


@pytest.fixture(scope="package", autouse=True)
def e2e_database(committed_database_url: str) -> Iterator[str]:
    """Every browser test, its fixtures' ``session_scope()`` and its live servers use the
    committed database."""
    with process_database(committed_database_url):
        yield committed_database_url


@pytest.fixture(scope="package")
def live_url(e2e_database: str) -> Iterator[str]:
    """The real application (its own sessions, committed data) served over HTTP."""
    from kilowatch.app import build_app

    with live_server(build_app()) as url:
        yield url


@pytest.fixture(scope="module")
def counted_server(e2e_database: str) -> Iterator[tuple[str, object]]:
    """A live server of its own whose requests are counted (``.requests``): to show that
    an offline browser really reached nothing."""
    from kilowatch.app import build_app
    from tests.e2e.handheld_support import CountingApp

    app = CountingApp(build_app())
    with live_server(app) as url:
        yield url, app
