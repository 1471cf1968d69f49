"""The desk in a real browser, shared by the desk's browser tests: Debian's Chromium driven by
Playwright (no browser download, as tests/test_viewer_browser.py), a visit that records every
request, dialog and page error, and axe-core (npm, pinned in tests/firefox/package.json) for
WCAG 2.1 AA."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import pytest

from support.desk import PASSWORD, DeskServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
AXE = Path(__file__).parents[1] / "firefox" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, or the test is skipped saying what to install."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) is not installed")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Visit:
    """A browser context with every request, dialog and page error recorded."""

    def __init__(self, browser: Any, desk: DeskServer, *, javascript: bool = True) -> None:
        self.desk = desk
        self.context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.set_default_timeout(20000)

    def go(self, path: str) -> Any:
        return self.page.goto(self.desk.url + path)

    def sign_in(self, user: str, password: str = PASSWORD) -> None:
        self.go("/login")
        self.page.fill('input[name="user"]', user)
        self.page.fill('input[name="password"]', password)
        self.page.click('form.login button[type="submit"]')
        self.page.wait_for_url(self.desk.url + "/")

    def assert_clean(self) -> None:
        assert self.requests, "no request recorded: the recorder is broken"
        origin = urlparse(self.desk.url).netloc
        assert all(urlparse(url).netloc == origin for url in self.requests), self.requests  # nothing from outside
        assert self.dialogs == [], "a script from the data ran"
        assert self.errors == []

    def close(self) -> None:
        self.context.close()


@contextmanager
def visits(browser: Any, desk: DeskServer) -> Iterator[Any]:
    """`open_visit(**kwargs)` -> a new Visit; every visit is closed when the block ends."""
    opened: list[Visit] = []

    def open_visit(**kwargs: Any) -> Visit:
        opened.append(Visit(browser, desk, **kwargs))
        return opened[-1]

    try:
        yield open_visit
    finally:
        for item in opened:
            item.close()



@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Chromium per test module (import it into the module with `visit`)."""
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def visit(chromium: Any, desk: DeskServer) -> Iterator[Any]:
    """`visit(**kwargs)` -> a new Visit of the module's `desk` fixture, closed after the test."""
    with visits(chromium, desk) as open_visit:
        yield open_visit

def axe(page: Any) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA and best-practice violations of the page as it is."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `make npm` (npm ci --prefix tests/firefox)")
    page.evaluate(AXE.read_text(encoding="utf-8"))  # by DevTools, not a <script>: the desk's CSP stays as it is
    result = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: "
                           "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result["violations"]]
