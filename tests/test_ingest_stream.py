"""The streamed ingest (spill by article id, de-duplicate bucket by bucket, write in row groups)
gives the table the in-memory build gives, row for row, on the demo corpus and the real one."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from conftest import SAMPLE
from pipeline.config import Params
from pipeline.ingest import build
from pipeline.ingest.discover import discover
from pipeline.run import build_tables, read_files


def _both(inputs, tmp_path, monkeypatch, buffered):
    monkeypatch.setattr(build, "_BUFFERED", buffered)
    params = Params()
    discovery = discover([str(p) for p in inputs])
    mem = build_tables(read_files(discovery.files, params, workers=1), discovery, params)
    quarantined, counts, _ = build.build_articles(read_files(discovery.files, params, workers=2),
                                                  discovery.problems, params, tmp_path)
    streamed = pq.read_table(tmp_path / "articles.parquet")
    assert streamed.equals(mem.articles)
    assert [q.as_row() for q in quarantined] == mem.quarantine.to_pylist()
    for k in ("inputs_read", "ingested", "duplicates", "quarantined", "near_duplicates", "with_warnings",
              "records_by_kind", "quarantined_by_reason"):
        assert counts[k] == mem.counts[k], k
    assert not list(tmp_path.glob(".ingest-spill-*")), "the spill folder is removed"
    return counts


def test_streamed_ingest_equals_the_in_memory_build_on_the_demo_corpus(tmp_path, monkeypatch):
    counts = _both([SAMPLE], tmp_path, monkeypatch, buffered=5)  # many small spill flushes
    assert counts["duplicates"] >= 1 and counts["near_duplicates"] >= 1 and counts["quarantined"] >= 1


@pytest.mark.slow
def test_streamed_ingest_equals_the_in_memory_build_on_the_real_corpus(shared, tmp_path, monkeypatch):
    corpus = shared / "corpus"
    counts = _both([corpus / "items.jsonl", corpus / "records", shared / "seeds"], tmp_path, monkeypatch,
                   buffered=300)
    assert counts["near_duplicates"] > 50 and counts["duplicates"] > 50
