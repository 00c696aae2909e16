"""Duplicates: exact ones collapse into one row; near-duplicates point at their original.

* Exact: rows with the same ``article_id`` (same canonical URL, or same words when
  there is no URL) become one row that keeps every source and URL. The row kept is
  the one with the longest text, then by input kind and path, so the result never
  depends on input order.
* Near: MinHash LSH over word shingles proposes candidates (banded for a threshold 0.2
  below the real one, so few true pairs are missed), exact Jaccard similarity
  confirms them (>= ``dedup.threshold``), and each cluster's members get
  ``duplicate_of`` = the cluster's original: non-AMP before AMP, then the earliest
  published, then the longest, then the smallest id.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from datasketch import MinHash, MinHashLSH

from pipeline.config import DedupParams
from pipeline.ingest.normalize import fingerprint_text

_KIND_RANK = {"frontmatter": 0, "plaintext": 1, "jsonl": 2, "json": 2, "csv": 3, "parquet": 4, "related": 5}
_AMP = re.compile(r"(^|[/.?&=_-])amp([/.?&=_-]|$)", re.IGNORECASE)
_FILLABLE = ("published", "provider", "domain")


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


def shingles(text: str, k: int) -> set[str]:
    words = fingerprint_text(text).split()
    if not words:
        return set()
    if len(words) <= k:
        return {" ".join(words)}
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


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


def mark_near_duplicates(rows: list[dict[str, Any]], params: DedupParams) -> int:
    """Set ``duplicate_of`` / ``duplicate_similarity`` in place. Returns how many rows were marked."""
    sets = [shingles(r["text"], params.shingle_words) for r in rows]
    indexed = [i for i, sh in enumerate(sets) if sh]
    # One set of permutations for all documents (MinHash.bulk); crc32 is a fast, stable
    # 32-bit hash of each shingle, spread further by MinHash's own random permutations.
    hashes = MinHash.bulk(
        [[s.encode("utf-8") for s in sorted(sets[i])] for i in indexed],
        num_perm=params.num_perm, seed=params.seed, hashfunc=zlib.crc32,
    )
    # LSH only proposes candidates; exact Jaccard decides. Banding for a lower threshold
    # keeps recall at the real threshold near 1 (a pair at 0.7 is proposed with p ~ 0.99).
    lsh = MinHashLSH(threshold=max(0.3, params.threshold - 0.2), num_perm=params.num_perm)
    with lsh.insertion_session() as session:
        for i, m in zip(indexed, hashes):
            session.insert(i, m)

    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, m in zip(indexed, hashes):
        for j in lsh.query(m):
            if j <= i:
                continue
            ri, rj = find(i), find(j)
            # already in one cluster: no need to verify (keeps big clusters near-linear)
            if ri != rj and _jaccard(sets[i], sets[j]) >= params.threshold:
                parent[max(ri, rj)] = min(ri, rj)

    clusters: dict[int, list[int]] = {}
    for i in range(len(rows)):
        clusters.setdefault(find(i), []).append(i)
    marked = 0
    for members in clusters.values():
        if len(members) < 2:
            continue
        original = min(members, key=lambda i: _original_key(rows[i]))
        for i in members:
            if i == original:
                continue
            rows[i]["duplicate_of"] = rows[original]["article_id"]
            rows[i]["duplicate_similarity"] = round(_jaccard(sets[i], sets[original]), 6)
            marked += 1
    return marked
