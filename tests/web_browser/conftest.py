"""Headless Chromium (Debian's package) driven by Playwright for Python.

Playwright's own browser downloads are never used: the tests launch /usr/bin/chromium
(scripts/setup-browser installs it) and skip, saying why, when it or Playwright is missing.
Screenshots and downloads land in ARCHOPS_TEST_ARTIFACTS (default: test-artifacts/ at the top of
the tree, which git ignores).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# the in-process web servers of tests/web (a real redis-server, the real app)
from tests.web.conftest import (  # noqa: F401
    access_store,
    cli_headers,
    keys,
    make_server,
    own,
    signer,
)

CHROMIUM = os.environ.get("ARCHOPS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking"]


async def until_count(page, selector: str, at_least: int, timeout_s: float = 15.0) -> int:
    """Wait until ``selector`` matches at least ``at_least`` elements (polled from here: the
    CSP forbids the string evaluation page.wait_for_function does)."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        count = await page.locator(selector).count()
        if count >= at_least or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    root = Path(os.environ.get("ARCHOPS_TEST_ARTIFACTS")
                or Path(__file__).resolve().parents[2] / "test-artifacts") / "web"
    root.mkdir(parents=True, exist_ok=True)
    return root


async def launch(args: list[str]) -> AsyncIterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/setup-browser (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed: scripts/setup --dev")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    async for browser in launch(ARGS):
        yield browser


@pytest.fixture
async def browser_without_wasm() -> AsyncIterator[object]:
    """Chromium whose pages have no WebAssembly, as in a locked-down browser: V8 without its JIT
    exposes no ``WebAssembly`` (Chromium 156 ignores ``--noexpose_wasm``)."""
    async for browser in launch([*ARGS, "--js-flags=--jitless"]):
        yield browser


async def new_page(browser):  # type: ignore[no-untyped-def]
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        accept_downloads=True, locale="en-US")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "Content Security Policy" in m.text else None)
    page.errors = errors  # type: ignore[attr-defined]
    return context, page


@pytest.fixture
async def page(browser):  # type: ignore[no-untyped-def]
    context, page = await new_page(browser)
    yield page
    await context.close()
    assert not page.errors, page.errors  # no script error, nothing the CSP refused


@pytest.fixture
async def page_without_wasm(browser_without_wasm):  # type: ignore[no-untyped-def]
    context, page = await new_page(browser_without_wasm)
    yield page
    await context.close()
    assert not page.errors, page.errors
