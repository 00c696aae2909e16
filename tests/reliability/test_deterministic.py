"""Same inputs, params and models -> identical tables, whatever the number of workers or the
order in which the inputs are listed (only timings in the manifests differ)."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE
from pipeline.schemas import TABLES

pytestmark = pytest.mark.slow


def _run(out, *inputs, workers):
    res = subprocess.run([sys.executable, "-m", "pipeline", "run", "--quiet", "--workers", str(workers),
                          "--out", str(out), "--input", *map(str, inputs)],
                         capture_output=True, text=True, cwd=REPO, timeout=900)
    assert res.returncode == 0, res.stderr
    return out


def test_workers_and_input_order_do_not_change_any_table(tmp_path):
    parts = sorted(p for p in SAMPLE.iterdir() if not p.name.startswith("."))
    one = _run(tmp_path / "one", *parts, workers=1)
    two = _run(tmp_path / "two", *reversed(parts), workers=2)
    for spec in TABLES.values():
        a, b = pq.read_table(one / spec.file), pq.read_table(two / spec.file)
        assert a.equals(b), f"{spec.file} differs between --workers 1 and --workers 2 with reversed inputs"
    assert (one / "actors.gexf").read_bytes() == (two / "actors.gexf").read_bytes()
