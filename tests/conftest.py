"""Shared fixtures. Real text from ../shared is read in place, never copied into the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import Params

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FRSTANCE_SHARED", REPO.parent / "shared"))
SAMPLE = REPO / "data" / "sample"


def frstance_run(*args, timeout: int = 900) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` from the repository root, output captured."""
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


def frstance_ok(*args) -> subprocess.CompletedProcess:
    """The same, asserting exit 0 (stderr shown on failure)."""
    res = frstance_run(*args)
    assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "corpus").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"../shared is missing beside the checkout ({SHARED})")
        pytest.skip(f"../shared not found at {SHARED}; set FRSTANCE_SHARED")
    return SHARED


@pytest.fixture()
def params() -> Params:
    return Params()


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail("chromium / chromedriver missing: .ci/run installs Debian's chromium and chromium-driver")
        pytest.skip("chromium not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"):
        opts.add_argument(a)
    opts.binary_location = chromium
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(driver), options=opts)
    yield d
    d.quit()


def open_page(browser, path: Path):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(path.resolve().as_uri())
    return browser
