"""What the browser tests share: Debian's headless Chromium driven by Selenium (the chromedriver
of the chromium-driver package; selenium-manager never runs, nothing is downloaded), the
correction app served on a free port, and waits that poll with long deadlines (CI is a loaded
2-core machine). Importing this module skips the importing test module when Chromium, its
driver or selenium is missing."""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from examgen.correct import create_app, server

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = next((p for p in (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium")) if p.exists()), None)
webdriver = pytest.importorskip("selenium.webdriver")
if not CHROMEDRIVER.exists() or CHROMIUM is None:
    pytest.skip("chromium and chromium-driver are not installed (make test-deps)", allow_module_level=True)

from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DEADLINE = 120  # seconds: generous, CI is a loaded 2-core machine


@contextmanager
def serving(build: Path, db: Path) -> Iterator[str]:
    """The correction app over `db` served on a free port of 127.0.0.1 (its base URL) until the block ends."""
    srv = server(create_app(build, db), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.port}"
    try:
        end = time.monotonic() + DEADLINE
        while True:  # ready when the static CSS is served
            try:
                with urllib.request.urlopen(f"{base}/static/style.css", timeout=10) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        srv.shutdown()
        thread.join(DEADLINE)


def chromium_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A factory of headless Chromium sessions (each its own profile: its own tutor's cookie), all
    quit afterwards; conftest's `browsers` fixture."""
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium-manager: never fetch a browser or a driver
    made: list = []

    def new() -> object:
        opts = webdriver.ChromeOptions()
        opts.binary_location = str(CHROMIUM)
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    f"--user-data-dir={tmp_path / f'profile{len(made)}'}", "--window-size=1280,900"):
            opts.add_argument(arg)
        d = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
        d.set_page_load_timeout(DEADLINE)
        made.append(d)
        return d

    yield new  # type: ignore[misc]
    for d in made:
        d.quit()


def shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: EXAMGEN_SHOTS=DIR keeps them, else a temporary folder."""
    folder = Path(os.environ.get("EXAMGEN_SHOTS", tmp_path / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# what chromedriver sometimes reports instead of a stale element when a page is being replaced ("unknown error:
# unhandled inspector error: ... Node with given id does not belong to the document"; CI met it once in
# test_term_e2e's wait for "Saved: ...", right after the form was sent; a known chromedriver behaviour)
STALE_NODE = "does not belong to the document"


class _Wait(WebDriverWait):
    """WebDriverWait that also takes chromedriver's STALE_NODE error as a stale element: try again."""

    def until(self, method, message: str = ""):
        def check(drv):
            try:
                return method(drv)
            except WebDriverException as exc:
                if isinstance(exc, (NoSuchElementException, StaleElementReferenceException)) or \
                        STALE_NODE not in (exc.msg or ""):
                    raise
                return False
        return super().until(check, message)


def wait(d) -> WebDriverWait:
    """A wait that outlasts a page being replaced (an element of the old page is stale, the new one not there yet)."""
    return _Wait(d, DEADLINE, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def wait_url(d, pattern: str) -> None:
    wait(d).until(lambda drv: re.search(pattern, drv.current_url))


def wait_text(d, text: str) -> None:
    wait(d).until(lambda drv: text in drv.find_element(By.TAG_NAME, "body").text)


def enter_points(d, value: str) -> None:
    """Type the points into the booklet page's field (which has the focus: keyboard first) and press Enter."""
    field = wait(d).until(lambda drv: drv.find_element(By.ID, "points"))
    assert field == d.switch_to.active_element  # keyboard first: the field has the focus
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(value, Keys.ENTER)
