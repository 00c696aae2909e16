"""The streamed ingest (spill by article id, de-duplicate bucket by bucket, write in row groups)
gives the table the in-memory build gives, row for row, on the demo corpus and the real one."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from conftest import SAMPLE
from pipeline.config import Params
from pipeline.ingest import build
from pipeline.ingest.dedup import collapse_exact, mark_near_duplicates
from pipeline.ingest.discover import discover
from pipeline.run import read_files
from pipeline.schemas import ARTICLES


def _in_memory(discovery, params):
    """The reference: every record held at once, collapsed and marked in one list."""
    rows, quarantined = [], list(discovery.problems)
    for res in read_files(discovery.files, params, workers=1):
        rows.extend(res.articles)
        quarantined.extend(res.quarantined)
    articles, n_dups = collapse_exact(rows)
    n_near = mark_near_duplicates(articles, params.dedup)
    quarantined.sort(key=lambda q: (q.source_path, q.line or 0, q.item or "", q.reason, q.detail))
    counts = {"inputs_read": len(rows) + len(quarantined), "ingested": len(articles), "duplicates": n_dups,
              "quarantined": len(quarantined), "near_duplicates": n_near,
              "with_warnings": sum(1 for a in articles if a["warnings"])}
    return ARTICLES.from_rows(articles), [q.as_row() for q in quarantined], counts


def _both(inputs, tmp_path, monkeypatch, buffered):
    monkeypatch.setattr(build, "_BUFFERED", buffered)
    params = Params()
    discovery = discover([str(p) for p in inputs])
    mem_articles, mem_quarantine, mem_counts = _in_memory(discovery, params)
    quarantined, counts, _ = build.build_articles(read_files(discovery.files, params, workers=2),
                                                  discovery.problems, params, tmp_path)
    streamed = pq.read_table(tmp_path / "articles.parquet")
    assert streamed.equals(mem_articles)
    assert [q.as_row() for q in quarantined] == mem_quarantine
    for k, v in mem_counts.items():
        assert counts[k] == v, k
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
