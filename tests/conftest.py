"""Shared fixtures. Real text from ../shared is read in place, never copied into the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.config import Params

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FRSTANCE_SHARED", REPO.parent / "shared"))
SAMPLE = REPO / "data" / "sample"


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
