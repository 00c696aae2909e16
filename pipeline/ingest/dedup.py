"""Duplicates: exact ones collapse into one row; near-duplicates point at their original.

* Exact: rows with the same ``article_id`` (same canonical URL, or same words when
  there is no URL) become one row that keeps every source and URL. The row kept is
  the one with the longest text, then by input kind and path, so the result never
  depends on input order.
* Near: MinHash LSH over word shingles proposes candidates (banded so that a pair at the
  threshold is proposed with probability >= 0.999), exact Jaccard similarity
  confirms them (>= ``dedup.threshold``), and each cluster's members get
  ``duplicate_of`` = the cluster's original: non-AMP before AMP, then the earliest
  published, then the longest, then the smallest id.
"""

from __future__ import annotations

import re
import zlib
from typing import Any, Callable, Iterator

import numpy as np

from pipeline.config import DedupParams
from pipeline.ingest.normalize import fingerprint_text

_KIND_RANK = {"frontmatter": 0, "plaintext": 1, "jsonl": 2, "json": 2, "csv": 3, "parquet": 4, "related": 5}
_AMP = re.compile(r"(^|[/.?&=_-])amp([/.?&=_-]|$)", re.IGNORECASE)
_FILLABLE = ("published", "provider", "domain")
_CHUNK = 10_000


def _source_key(src: dict[str, Any]) -> tuple:
    return (src["path"], src["line"] if src["line"] is not None else -1, src["item"] or "", src["kind"])


def _rep_key(row: dict[str, Any]) -> tuple:
    return (-row["n_chars"], _KIND_RANK.get(row["input_kind"], 9), row["text"]) + _source_key(row["sources"][0])


def collapse_exact(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Merge rows sharing an article_id. Returns (rows sorted by article_id, rows merged away)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["article_id"], []).append(row)
    out = []
    for aid in sorted(groups):
        group = sorted(groups[aid], key=_rep_key)
        rep = dict(group[0])
        if len(group) > 1:
            for fld in _FILLABLE:
                if rep[fld] is None:
                    rep[fld] = next((r[fld] for r in group[1:] if r[fld] is not None), None)
            if not rep["topics"]:
                rep["topics"] = next((r["topics"] for r in group[1:] if r["topics"]), [])
            sources = {_source_key(s): s for r in group for s in r["sources"]}
            rep["sources"] = [sources[k] for k in sorted(sources)]
            rep["urls"] = sorted({u for r in group for u in r["urls"]})
            warnings: list[str] = []
            for r in group:
                warnings.extend(w for w in r["warnings"] if w not in warnings)
            rep["warnings"] = warnings
        out.append(rep)
    return out, len(rows) - len(out)


def shingle_hashes(text: str, k: int) -> np.ndarray:
    """Sorted unique crc32 hashes (uint32) of the text's word ``k``-shingles.

    A few hundred bytes per article instead of a set of strings; crc32 is fast and the
    same in every process and run.
    """
    words = fingerprint_text(text).split()
    if not words:
        return np.empty(0, dtype=np.uint32)
    if len(words) <= k:
        grams = [" ".join(words)]
    else:
        grams = [" ".join(words[i : i + k]) for i in range(len(words) - k + 1)]
    hashes = np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), dtype=np.uint32, count=len(grams))
    return np.unique(hashes)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays."""
    if not len(a) or not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def _signatures(shingle_sets: list[np.ndarray], params: DedupParams) -> np.ndarray:
    """MinHash signatures (n x num_perm, uint64), computed by datasketch in chunks."""
    from datasketch import MinHash  # here, not at import: a run that reuses its ingest never needs it

    out = np.empty((len(shingle_sets), params.num_perm), dtype=np.uint64)
    for start in range(0, len(shingle_sets), _CHUNK):
        chunk = shingle_sets[start : start + _CHUNK]
        for j, m in enumerate(MinHash.bulk(chunk, num_perm=params.num_perm, seed=params.seed, hashfunc=int)):
            out[start + j] = m.hashvalues
    return out


def banding(threshold: float, num_perm: int, recall: float = 0.999) -> tuple[int, int]:
    """(bands, rows per band) for LSH: the most selective banding that still proposes a pair
    whose Jaccard similarity is exactly ``threshold`` with probability >= ``recall``.

    Candidates are verified by exact Jaccard, so extra candidates only cost time, while a
    missed candidate is a missed duplicate.
    """
    for r in range(num_perm, 0, -1):
        b = num_perm // r
        if 1.0 - (1.0 - threshold**r) ** b >= recall:
            return b, r
    return num_perm, 1


def _candidate_groups(signatures: np.ndarray, threshold: float) -> Iterator[np.ndarray]:
    """Yield groups of row numbers that share a whole LSH band of their MinHash signatures.

    Each band is folded into one uint64 key and rows with equal keys form a group (a rare
    key collision only adds a candidate, which exact Jaccard then rejects).
    """
    b, r = banding(threshold, signatures.shape[1])
    powers = np.array([pow(1_000_003, j, 2**64) for j in range(r)], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(b):
            keys = (signatures[:, band * r : (band + 1) * r] * powers).sum(axis=1, dtype=np.uint64)
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            bounds = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
            for group in np.split(order, bounds):
                if len(group) > 1:
                    yield group


def _original_key(row: dict[str, Any]) -> tuple:
    url = row["canonical_url"] or ""
    published = row["published"]
    return (
        bool(_AMP.search(url)),
        published is None,
        published.isoformat() if published is not None else "",
        -row["n_chars"],
        row["article_id"],
    )


def original_key(row: dict[str, Any]) -> tuple:
    """Sort key of a near-duplicate cluster's members: the smallest is the original."""
    return _original_key(row)


def near_duplicate_marks(
    ids: list[str],
    original_keys: list[tuple],
    indexed: np.ndarray,
    signatures: np.ndarray,
    shingles_of: Callable[[list[int]], dict[int, np.ndarray]],
    params: DedupParams,
) -> dict[int, tuple[str, float]]:
    """Near-duplicate marks over articles known by compact state only.

    ``indexed[k]`` is the article number whose MinHash signature is ``signatures[k]`` (articles
    with no shingles are not indexed); ``shingles_of(numbers)`` returns the shingle hashes of
    the candidate articles, the only ones exact Jaccard needs. Returns
    ``{article number: (duplicate_of id, similarity)}``.
    """
    n = len(ids)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(indexed) > 1:
        groups = [[int(indexed[g]) for g in group] for group in _candidate_groups(signatures, params.threshold)]
        sets = shingles_of(sorted({i for g in groups for i in g}))
        # LSH only proposes candidates; exact Jaccard decides (see banding()).
        for members in groups:
            for x, i in enumerate(members):
                for j in members[x + 1 :]:
                    ri, rj = find(i), find(j)
                    # already in one cluster: no need to verify (keeps big clusters cheap)
                    if ri != rj and jaccard(sets[i], sets[j]) >= params.threshold:
                        parent[max(ri, rj)] = min(ri, rj)
    else:
        sets = {}
    clusters: dict[int, list[int]] = {}
    for i in range(n):
        if parent[i] != i or i in clusters:  # skip the (many) singletons cheaply
            clusters.setdefault(find(i), []).append(i)
    marks: dict[int, tuple[str, float]] = {}
    for root, members in clusters.items():
        if root not in members:
            members.append(root)
        if len(members) < 2:
            continue
        original = min(members, key=lambda i: original_keys[i])
        for i in members:
            if i != original:
                marks[i] = (ids[original], round(jaccard(sets[i], sets[original]), 6))
    return marks


def signatures_of(shingle_sets: list[np.ndarray], params: DedupParams) -> np.ndarray:
    return _signatures(shingle_sets, params)


def mark_near_duplicates(rows: list[dict[str, Any]], params: DedupParams) -> int:
    """Set ``duplicate_of`` / ``duplicate_similarity`` in place. Returns how many rows were marked."""
    sets = [shingle_hashes(r["text"], params.shingle_words) for r in rows]
    indexed = np.array([i for i, sh in enumerate(sets) if len(sh)], dtype=np.int64)
    signatures = _signatures([sets[i] for i in indexed], params) if len(indexed) > 1 else np.empty((0, 0))
    marks = near_duplicate_marks([r["article_id"] for r in rows], [_original_key(r) for r in rows], indexed,
                                 signatures, lambda nums: {i: sets[i] for i in nums}, params)
    for i, (dup_of, sim) in marks.items():
        rows[i]["duplicate_of"] = dup_of
        rows[i]["duplicate_similarity"] = sim
    return len(marks)
