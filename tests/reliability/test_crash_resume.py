"""``kill -9`` of a real ``frstance run`` at several moments (during ingest, a parse, a
classification, each kind of table write, just before the manifest; and at random moments
from outside), then the same command again: the tables equal an uninterrupted run's row for
row, and the second run redoes only what the first left unfinished (batches already in the
cache are neither parsed nor classified again).

The exact moments come from named crash points (pipeline/failpoints.py): the process sends
SIGKILL to its own process group there, so nothing gets to clean up, as with ``kill -9``."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE
from pipeline.analysis import ResultsError, load_results
from pipeline.failpoints import ENV
from pipeline.schemas import TABLES

pytestmark = pytest.mark.slow

N_ARTICLES = 65  # the demo corpus after de-duplication (checked against the reference run)


def _cmd(out: Path, params: Path, workers: int, inputs=(SAMPLE,)) -> list[str]:
    return [sys.executable, "-m", "pipeline", "run", "--quiet", "--workers", str(workers), "--params", str(params),
            "--out", str(out), "--input", *map(str, inputs)]


def _run(out: Path, params: Path, workers: int = 1, failpoint: str | None = None, inputs=(SAMPLE,)):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if failpoint:
        env[ENV] = failpoint
    # its own session, so the crash point (or the test) can kill the run and all of its workers
    return subprocess.run(_cmd(out, params, workers, inputs), capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=900, start_new_session=True)


def _manifest(out: Path) -> dict:
    return json.loads((out / "run_manifest.json").read_text())


def _cached_rows(out: Path, stage: str) -> int:
    return sum(pq.read_metadata(p).num_rows for p in (out / ".frstance-cache").glob(f"{stage}-*/part-*.parquet"))


def _assert_same_tables(ref: Path, out: Path) -> None:
    for spec in TABLES.values():
        a, b = pq.read_table(ref / spec.file), pq.read_table(out / spec.file)
        assert a.equals(b), f"{spec.file} after kill -9 and re-run differs from the uninterrupted run"
    assert (ref / "actors.gexf").read_bytes() == (out / "actors.gexf").read_bytes()


def _assert_clean(out: Path) -> None:
    left = [p.name for p in out.rglob("*") if ".tmp-" in p.name or p.name.startswith(".ingest-spill-")]
    assert not left, f"temporary files left behind: {left}"
    assert not (out / ".frstance.lock").exists()


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> Path:
    """Small batches (8 articles), so a run has several batches to be killed between."""
    text = (REPO / "params.yaml").read_text()
    assert "batch_articles: 64" in text
    p = tmp_path_factory.mktemp("params") / "params.yaml"
    p.write_text(text.replace("batch_articles: 64", "batch_articles: 8"))
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory, params) -> Path:
    out = tmp_path_factory.mktemp("reference") / "out"
    res = _run(out, params)
    assert res.returncode == 0, res.stderr
    assert _manifest(out)["counts"]["ingested"] == N_ARTICLES
    return out


# (crash point NAME:N = the N-th time the run reaches NAME, workers)
POINTS = [
    ("ingest.record:40", 1),          # reading the inputs: nothing written yet
    ("table.articles:5", 1),          # in the middle of writing articles.parquet
    ("batch.parsed:3", 1),            # parsing the third batch (two in the cache)
    ("batch.classified:4", 1),        # classifying the fourth batch (three in the cache)
    ("batch.classified:2", 2),        # two workers, each on its second batch
    ("table.entities:1", 1),          # writing entities.parquet (everything cached)
    ("write.topic_terms.parquet:1", 1),  # the subtopic cache entry written, not yet renamed
    ("write.topic_terms.parquet:2", 1),  # topic_terms.parquet written, not yet renamed into place
    ("manifest:1", 1),                # every table written, the manifest not
    ("commit:3", 1),                  # publishing: three tables renamed into place, the rest not
]


@pytest.mark.parametrize("point,workers", POINTS, ids=[p for p, _ in POINTS])
def test_kill_at_a_crash_point_then_rerun_gives_the_same_tables(tmp_path, params, reference, point, workers):
    out = tmp_path / "out"
    killed = _run(out, params, workers, failpoint=point)
    assert killed.returncode == -signal.SIGKILL, f"the run was not killed at {point}: {killed.stderr}"
    assert not (out / "run_manifest.json").exists()
    if point.startswith("commit"):  # half published: readers are told, not given a mix
        with pytest.raises(ResultsError, match="between two runs' tables"):
            load_results(out)
    parsed_before = _cached_rows(out, "extract") if out.exists() else 0
    classified_before = _cached_rows(out, "classify") if out.exists() else 0
    name = point.split(":")[0]
    if name.startswith(("ingest.", "table.articles")):
        assert parsed_before == classified_before == 0
        assert not (out / "articles.parquet").exists(), "articles.parquet written by a killed ingest"
    elif name.startswith("batch."):
        assert 0 < classified_before < N_ARTICLES, "the kill should fall between batches"
    else:
        assert classified_before == parsed_before == N_ARTICLES

    again = _run(out, params, workers)
    assert again.returncode == 0, again.stderr
    _assert_same_tables(reference, out)
    manifest = _manifest(out)
    cache = manifest["cache"]
    # only what the killed run left unfinished is redone: ingest is reused once it had finished
    assert manifest["ingest"]["reused"] is not name.startswith(("ingest.", "table.articles"))
    assert cache["parsed"] == N_ARTICLES - parsed_before
    assert cache["classified"] == N_ARTICLES - classified_before
    assert cache["unreadable_parts"] == []
    _assert_clean(out)


@pytest.fixture(scope="module")
def grown(tmp_path_factory, params) -> tuple[Path, Path]:
    """The demo corpus plus one new article, and a from-scratch run over it."""
    corpus = tmp_path_factory.mktemp("grown")
    shutil.copytree(SAMPLE, corpus / "sample")
    (corpus / "extra.txt").write_text(
        "Harbour city pauses its face scanners\n\nThe harbour city said on Monday it would pause its face "
        "scanners at the ferry terminal until the council writes rules for them.\n\n\"We want clear rules "
        "first,\" said Mayor Dana Holt.\n", encoding="utf-8")
    fresh = tmp_path_factory.mktemp("grown-fresh") / "out"
    assert _run(fresh, params, 1, inputs=(corpus,)).returncode == 0
    return corpus, fresh


@pytest.mark.parametrize("point", ["table.quotes:1", "write.actors.parquet:1"])
def test_kill_during_a_rerun_leaves_the_earlier_tables_untouched(tmp_path, params, reference, grown, point):
    """A run over an existing output folder killed before it publishes its tables leaves the
    earlier run's tables, all of them, as they were: never new articles beside old quotes."""
    corpus, fresh = grown
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    killed = _run(out, params, 1, failpoint=point, inputs=(corpus,))
    assert killed.returncode == -signal.SIGKILL
    _assert_same_tables(reference, out)
    assert (out / "run_manifest.json").read_bytes() == (reference / "run_manifest.json").read_bytes()
    assert load_results(out).articles.shape[0] == N_ARTICLES

    again = _run(out, params, 1, inputs=(corpus,))
    assert again.returncode == 0, again.stderr
    cache = _manifest(out)["cache"]
    # the killed run had ingested and cached the new article's results before it died
    assert cache["parsed"] == cache["classified"] == 0 and _manifest(out)["ingest"]["reused"]
    _assert_same_tables(fresh, out)
    _assert_clean(out)


def test_kill_at_random_moments_from_outside(tmp_path, params, reference):
    """``kill -9`` of the run's process group at seeded random moments of a two-worker run, three
    times in a row on the same folder, then one run to the end: the same tables."""
    out = tmp_path / "out"
    rng = random.Random(8)
    started = time.perf_counter()
    assert _run(tmp_path / "timing", params, 2).returncode == 0
    full = time.perf_counter() - started
    env = {k: v for k, v in os.environ.items() if k != ENV}
    for _ in range(3):
        proc = subprocess.Popen(_cmd(out, params, 2), cwd=REPO, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 0.95) * full)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    again = _run(out, params, 2)
    assert again.returncode == 0, again.stderr
    _assert_same_tables(reference, out)
    _assert_clean(out)
