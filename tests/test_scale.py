"""Scale as a user sees it: incremental re-runs from the content-hash cache, a new stance model
that re-classifies without re-parsing, and the Dask engine (a real cluster on loopback)
writing the same tables as a local run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE
from pipeline.schemas import TABLES

pytestmark = pytest.mark.slow


def _run(out: Path, *inputs, args=(), ok=True):
    res = subprocess.run([sys.executable, "-m", "pipeline", "run", "--quiet", "--out", str(out), *args,
                          "--input", *map(str, inputs)], capture_output=True, text=True, cwd=REPO, timeout=900)
    if ok:
        assert res.returncode == 0, res.stderr
    return res


def _manifest(out: Path) -> dict:
    return json.loads((out / "run_manifest.json").read_text())


def _same_tables(a: Path, b: Path, skip_columns: dict[str, set[str]] | None = None) -> None:
    for spec in TABLES.values():
        ta, tb = pq.read_table(a / spec.file), pq.read_table(b / spec.file)
        drop = sorted((skip_columns or {}).get(spec.name, set()))
        if drop:
            ta, tb = ta.drop_columns(drop), tb.drop_columns(drop)
        assert ta.equals(tb), f"{spec.file} differs between {a.name} and {b.name}"
    assert (a / "actors.gexf").read_bytes() == (b / "actors.gexf").read_bytes()


NEW_ARTICLE = """Dunmore council weighs a facial recognition ban

Dunmore's council heard two hours of testimony on Tuesday about a proposed ban on police use of
facial recognition.

"We should not be the test bed for a tool that misidentifies our neighbours," said Priya Raman,
who leads the Dunmore Tenants Union.

Police Chief Elena Voss said the department would accept strict rules instead of a ban.
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SAMPLE, d / "sample")
    return d


@pytest.fixture(scope="module")
def fresh(corpus, tmp_path_factory):
    """A run with the cache off: the reference every cached run must equal."""
    out = tmp_path_factory.mktemp("fresh") / "out"
    _run(out, corpus / "sample", args=("--workers", "1", "--no-cache"))
    assert not (out / ".frstance-cache").exists()
    return out


def test_rerun_over_an_unchanged_corpus_recomputes_nothing(corpus, fresh, tmp_path):
    out = tmp_path / "out"
    _run(out, corpus / "sample", args=("--workers", "2"))
    first = _manifest(out)
    n = first["counts"]["extract"]["articles"]
    assert first["cache"]["parsed"] == n
    assert first["cache"]["extract_hits"] == 0
    _run(out, corpus / "sample", args=("--workers", "2"))
    again = _manifest(out)
    x = again["cache"]
    assert (x["parsed"], x["classified"]) == (0, 0)
    assert again["cache"]["classify_hits"] == n
    assert again["engine"]["engine"].startswith("none")
    # The subtopic model was fitted once and reused.
    assert len(list((out / ".frstance-cache").glob("subtopics-*/topic_terms.parquet"))) == 1
    _same_tables(out, fresh)


def test_new_articles_are_the_only_ones_processed(corpus, fresh, tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(corpus / "sample", inputs / "sample")
    out = tmp_path / "out"
    _run(out, inputs, args=("--workers", "1"))
    (inputs / "dunmore.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    _run(out, inputs, args=("--workers", "1"))
    x = _manifest(out)["cache"]
    assert (x["parsed"], x["classified"]) == (1, 1)
    # Equal to a run over the grown corpus from scratch.
    ref = tmp_path / "ref"
    _run(ref, inputs, args=("--workers", "1", "--no-cache"))
    _same_tables(out, ref)
    quotes = pq.read_table(out / "quotes.parquet").to_pylist()
    assert any(q["speaker_name"] == "Priya Raman" for q in quotes)


def test_a_killed_run_leaves_finished_batches_in_the_cache(corpus, fresh, tmp_path):
    """Parts are written whole (atomic rename): remove some, as if the run died before them,
    and the next run recomputes exactly those articles."""
    out = tmp_path / "out"
    _run(out, corpus / "sample", args=("--workers", "1"))
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text().replace("batch_articles: 64", "batch_articles: 8"))
    shutil.rmtree(out / ".frstance-cache")
    _run(out, corpus / "sample", args=("--workers", "1", "--params", str(params)))
    parts = sorted((out / ".frstance-cache").glob("classify-*/part-*.parquet"))
    assert len(parts) >= 3
    lost = parts[:2]
    n_lost = sum(pq.read_metadata(p).num_rows for p in lost)
    for p in lost:
        p.unlink()
    (lost[0].parent / f".{lost[0].name}.tmp-999999").write_bytes(b"half a part")  # a killed writer's leftover
    _run(out, corpus / "sample", args=("--workers", "1", "--params", str(params)))
    assert not list(lost[0].parent.glob(".*.tmp-*"))
    x = _manifest(out)["cache"]
    assert x["classified"] == n_lost and x["parsed"] == 0
    _same_tables(out, fresh)


def test_a_new_stance_model_reclassifies_without_parsing(corpus, fresh, tmp_path):
    out = tmp_path / "out"
    _run(out, corpus / "sample", args=("--workers", "1"))
    from pipeline.classify.model_store import resave_copy

    model = resave_copy(REPO / "models" / "stance", tmp_path / "model", "tests/test_scale.py")
    _run(out, corpus / "sample", args=("--workers", "1", "--model-dir", str(model)))
    m = _manifest(out)
    x = m["cache"]
    assert x["parsed"] == 0 and x["classified"] == m["counts"]["extract"]["articles"]
    assert m["stance_model"]["version"] != _manifest(fresh)["stance_model"]["version"]
    preds = pq.read_table(out / "predictions.parquet")
    assert set(preds.column("model_version").to_pylist()) == {m["stance_model"]["version"]}
    # Same model weights: every label and probability equal, only the version columns differ.
    _same_tables(out, fresh, {"predictions": {"model_version"}, "quotes": {"stance_model_version"}})


def test_dask_engine_on_a_loopback_cluster_writes_the_local_tables(corpus, fresh, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        out = tmp_path / "dask"
        _run(out, corpus / "sample", args=("--engine", "dask", "--scheduler", cluster.scheduler_address,
                                           "--no-cache"))
        m = _manifest(out)
        assert m["engine"] == {"engine": "dask", "scheduler": cluster.scheduler_address, "workers": 2}
    _same_tables(out, fresh)


def test_engine_usage_errors(corpus, tmp_path):
    res = _run(tmp_path / "o", corpus / "sample", args=("--scheduler", "tcp://127.0.0.1:1"), ok=False)
    assert res.returncode == 2 and "--scheduler needs --engine dask" in res.stderr
    res = _run(tmp_path / "o", corpus / "sample", args=("--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"),
               ok=False)
    assert res.returncode == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_worker_with_other_models_is_refused():
    """A Dask worker with another frstance or other models would poison the cache: refused."""
    import pyarrow as pa

    from pipeline.batches import Job, WorkerMismatch, process_batch
    from pipeline.config import Params
    from pipeline.schemas import CACHE_EXTRACT

    arts = pa.table({"article_id": ["a1"], "title": ["t"], "text": ["The mayor said the ban would pass."]})
    job = Job(0, arts, ["k1"], ["k2"], CACHE_EXTRACT.empty_table(), Params(), ("other", "versions"))
    with pytest.raises(WorkerMismatch, match="install the same frstance"):
        process_batch(job)
