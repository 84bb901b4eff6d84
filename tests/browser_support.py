"""Helpers for the studio's browser tests: headless Debian chromium through the Debian
chromedriver (a browser download at test time cannot work offline), uvicorn on a free
127.0.0.1 port, waits and full-page screenshots. The fixtures (``browser``, ``shots``,
``downloads``) are in conftest.py."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
needs_browser = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs the Debian packages chromium and chromium-driver "
    "(scripts/install_system_packages.sh; make test runs it)",
)


def chrome(downloads: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        opts.add_argument(arg)
    opts.add_argument("--window-size=1400,1000")
    opts.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    return driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def wait(driver: Any, condition: Any, timeout: float = 20) -> Any:
    """Wait for ``condition``; elements gone stale while a page loads count as not yet."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (StaleElementReferenceException,)
    return WebDriverWait(driver, timeout, 0.1, ignored_exceptions=ignored).until(condition)


def text_in(locator: Any, text: str) -> Any:
    from selenium.webdriver.support import expected_conditions as EC

    return EC.text_to_be_present_in_element(locator, text)


def snap(driver: Any, shots: Path, name: str, full: bool = True) -> None:
    """A PNG of the page (the whole height when ``full``)."""
    if full:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(max(height + 120, 800), 2400))
    driver.save_screenshot(str(shots / f"{name}.png"))
    driver.set_window_size(1400, 1000)


def set_value(driver: Any, element: Any, value: str) -> None:
    element.clear()
    element.send_keys(value)
