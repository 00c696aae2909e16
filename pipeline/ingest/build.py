"""articles.parquet from a stream of read records, without holding the corpus in memory.

1. **Spill.** Each record read goes to one of ``BUCKETS`` temporary Parquet files chosen by the
   first hex digits of its ``article_id``: every copy of one article lands in one bucket, and
   the buckets in order hold the ids in sorted order.
2. **Collapse and sign.** Each bucket in turn is read, its exact duplicates collapsed
   (:func:`pipeline.ingest.dedup.collapse_exact`), and every article's MinHash signature
   kept with the few fields that pick a cluster's original (about 1 KB per article).
3. **Near-duplicates.** LSH over all signatures proposes candidates; only the candidates'
   shingles are recomputed (one more pass) for the exact Jaccard check.
4. **Write.** Each bucket is collapsed again (deterministic), marked, sorted and appended
   to ``articles.parquet`` as row groups (atomically: the old table stays until the end).

The table equals the in-memory build row for row (rows sorted by ``article_id``); peak
memory is one bucket plus the signatures.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pyarrow.parquet as pq

from pipeline.config import Params
from pipeline.ingest.dedup import (collapse_exact, near_duplicate_marks, original_key, shingle_hashes,
                                   signatures_of)
from pipeline.ingest.reader import FileResult
from pipeline.ingest.records import Quarantined
from pipeline.failpoints import failpoint
from pipeline.schemas import ARTICLES
from pipeline.store import SPILL_PREFIX, TableWriter

#: Spill buckets (by the first two hex digits of article_id, 256 // BUCKETS prefixes each).
BUCKETS = 64
#: Rows buffered in memory across all buckets before they are written out.
_BUFFERED = 2048


class _Spill:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._rows: dict[int, list[dict[str, Any]]] = {}
        self._writers: dict[int, pq.ParquetWriter] = {}
        self._buffered = 0
        self.n = 0

    @staticmethod
    def bucket(article_id: str) -> int:
        return int(article_id[:2], 16) * BUCKETS // 256

    def path(self, b: int) -> Path:
        return self.folder / f"bucket-{b:03d}.parquet"

    def add(self, row: dict[str, Any]) -> None:
        b = self.bucket(row["article_id"])
        rows = self._rows.setdefault(b, [])
        rows.append(row)
        self.n += 1
        self._buffered += 1
        if self._buffered >= _BUFFERED:
            for k in list(self._rows):
                self._flush(k)
            self._buffered = 0

    def _flush(self, b: int) -> None:
        rows = self._rows.pop(b, [])
        if not rows:
            return
        if b not in self._writers:
            self._writers[b] = pq.ParquetWriter(self.path(b), ARTICLES.schema, compression="lz4")
        self._writers[b].write_table(ARTICLES.from_rows(rows))

    def close(self) -> None:
        for b in list(self._rows):
            self._flush(b)
        for w in self._writers.values():
            w.close()

    def buckets(self) -> Iterator[list[dict[str, Any]]]:
        """Each non-empty bucket's collapsed rows (sorted by article_id), in bucket order."""
        for b in range(BUCKETS):
            if b in self._writers:
                rows, _ = collapse_exact(pq.read_table(self.path(b)).to_pylist())
                yield rows


def build_articles(results: Iterable[FileResult], problems: list[Quarantined], params: Params,
                   out: Path) -> tuple[list[Quarantined], dict[str, Any], dict[str, float]]:
    """Write ``out/articles.parquet`` from ``results``; (quarantined, counts, timings)."""
    quarantined: list[Quarantined] = list(problems)
    by_kind: Counter[str] = Counter()
    d = params.dedup
    tmp = Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-", dir=out))
    try:
        t0 = time.perf_counter()
        spill = _Spill(tmp)
        for res in results:
            for row in res.articles:
                spill.add(row)
                failpoint("ingest.record")
                by_kind[row["input_kind"]] += 1
            quarantined.extend(res.quarantined)
        spill.close()
        t_read = time.perf_counter() - t0

        t1 = time.perf_counter()
        ids: list[str] = []
        keys: list[tuple] = []
        indexed: list[int] = []
        sig_parts: list[np.ndarray] = []  # ~1 KB per article: the only per-article state besides ids
        n_warn = 0
        for rows in spill.buckets():
            sets = []
            for r in rows:
                sh = shingle_hashes(r["text"], d.shingle_words)
                if len(sh):
                    indexed.append(len(ids))
                    sets.append(sh)
                ids.append(r["article_id"])
                keys.append(original_key(r))
                n_warn += bool(r["warnings"])
            if sets:
                sig_parts.append(signatures_of(sets, d))
        n_dups = spill.n - len(ids)
        signatures = np.concatenate(sig_parts) if sig_parts else np.empty((0, d.num_perm), dtype=np.uint64)
        where = {aid: i for i, aid in enumerate(ids)}

        def shingles_of(numbers: list[int]) -> dict[int, np.ndarray]:
            if not numbers:  # no LSH candidates: no pass over the buckets
                return {}
            wanted = {ids[i] for i in numbers}
            found: dict[int, np.ndarray] = {}
            for rows in spill.buckets():
                for r in rows:
                    if r["article_id"] in wanted:
                        found[where[r["article_id"]]] = shingle_hashes(r["text"], d.shingle_words)
            return found

        marks = near_duplicate_marks(ids, keys, np.asarray(indexed, dtype=np.int64), signatures, shingles_of, d)
        del signatures, sig_parts, keys
        t_dedup = time.perf_counter() - t1

        t2 = time.perf_counter()
        writer = TableWriter(ARTICLES, out)
        try:
            for rows in spill.buckets():
                for r in rows:
                    mark = marks.get(where[r["article_id"]])
                    if mark:
                        r["duplicate_of"], r["duplicate_similarity"] = mark
                writer.write(ARTICLES.from_rows(rows))
            writer.close()
        except BaseException:
            writer.abort()
            raise
        t_write = time.perf_counter() - t2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    quarantined.sort(key=lambda q: (q.source_path, q.line or 0, q.item or "", q.reason, q.detail))
    counts = {
        "inputs_read": spill.n + len(quarantined),
        "ingested": len(ids),
        "duplicates": n_dups,
        "quarantined": len(quarantined),
        "near_duplicates": len(marks),
        "with_warnings": n_warn,
        "records_by_kind": dict(sorted(by_kind.items())),
        "quarantined_by_reason": dict(sorted(Counter(q.reason for q in quarantined).items())),
    }
    assert counts["inputs_read"] == counts["ingested"] + counts["duplicates"] + counts["quarantined"]
    return quarantined, counts, {"read": round(t_read, 4), "dedup": round(t_dedup, 4),
                                 "write_articles": round(t_write, 4)}
