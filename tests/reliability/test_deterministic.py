"""Same inputs, params and models -> identical tables, whatever the number of workers, the batch
sizes, the order in which the inputs are listed or the engine (only timings in the manifests
differ). tests/test_scale.py also runs the Dask engine against a cluster given by address."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE
from pipeline.schemas import TABLES

pytestmark = pytest.mark.slow


def _run(out, *inputs, workers, args=()):
    res = subprocess.run([sys.executable, "-m", "pipeline", "run", "--quiet", "--workers", str(workers),
                          "--out", str(out), *args, "--input", *map(str, inputs)],
                         capture_output=True, text=True, cwd=REPO, timeout=900)
    assert res.returncode == 0, res.stderr
    return out


def test_workers_and_input_order_do_not_change_any_table(tmp_path):
    """Every file of the demo corpus listed one by one, sorted for one run and shuffled (seeded)
    for the other, which also uses two workers."""
    files = sorted(p for p in SAMPLE.rglob("*") if p.is_file() and not any(x.startswith(".") for x in p.parts))
    shuffled = list(files)
    random.Random(8).shuffle(shuffled)
    assert shuffled != files and len(files) > 20
    one = _run(tmp_path / "one", *files, workers=1)
    two = _run(tmp_path / "two", *shuffled, workers=2)
    for spec in TABLES.values():
        a, b = pq.read_table(one / spec.file), pq.read_table(two / spec.file)
        assert a.equals(b), f"{spec.file} differs between --workers 1 and --workers 2 with shuffled inputs"
    assert (one / "actors.gexf").read_bytes() == (two / "actors.gexf").read_bytes()


def test_batch_sizes_do_not_change_any_table(tmp_path):
    """Small worker batches (many cache parts) and small nlp.pipe batches give the same tables."""
    params = tmp_path / "params.yaml"
    text = (REPO / "params.yaml").read_text()
    assert "batch_articles: 64" in text and "batch_size: 32" in text
    params.write_text(text.replace("batch_articles: 64", "batch_articles: 3").replace("batch_size: 32", "batch_size: 5"))
    big = _run(tmp_path / "big", SAMPLE, workers=1, args=("--no-cache",))
    small = _run(tmp_path / "small", SAMPLE, workers=2, args=("--params", str(params)))
    assert len(list((small / ".frstance-cache").glob("classify-*/part-*.parquet"))) > 10
    for spec in TABLES.values():
        a, b = pq.read_table(big / spec.file), pq.read_table(small / spec.file)
        assert a.equals(b), f"{spec.file} differs between batch sizes"


def test_the_dask_engine_writes_the_same_tables_as_a_local_run(tmp_path):
    """``--engine dask`` with no address (a local cluster of two single-threaded workers)."""
    local = _run(tmp_path / "local", SAMPLE, workers=1, args=("--no-cache",))
    dask = _run(tmp_path / "dask", SAMPLE, workers=2, args=("--engine", "dask", "--no-cache"))
    manifest = json.loads((dask / "run_manifest.json").read_text())
    assert manifest["engine"] == {"engine": "dask", "scheduler": "local cluster", "workers": 2}
    for spec in TABLES.values():
        a, b = pq.read_table(local / spec.file), pq.read_table(dask / spec.file)
        assert a.equals(b), f"{spec.file} differs between the local and the Dask engine"
    assert (local / "actors.gexf").read_bytes() == (dask / "actors.gexf").read_bytes()
