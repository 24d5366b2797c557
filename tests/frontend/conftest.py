"""Real headless Chromium for the page's tests.

Chromium is the system's (CHROMIUM_PATH, or chromium on PATH; the test-runner image has Debian's),
driven by Playwright for Python: the suite does not depend on Playwright downloading its own browser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.processes import find_program

CHROMIUM = str(find_program("CHROMIUM_PATH", ("chromium", "chromium-browser"), "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium, closed after the module."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (CI's .ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
