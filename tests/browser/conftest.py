"""The browser tests' pieces: Debian's Chromium driven by Playwright, and a served dashboard.

Without Chromium each test fails with one line saying how to get it (`make test` installs it
when it can): a browser test that did not run is not counted as passed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOW_TO_GET_IT = "install Debian's chromium (apt-get install chromium) to run the browser tests"
# Nothing of Chromium's own reaches the network: only the loopback mock is visited.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Called by the browser fixture: one line saying what is missing, no traceback."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"the browser tests need Chromium: {HOW_TO_GET_IT}", pytrace=False)


# Module scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, and every later test that calls asyncio.run() would fail on it.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
