"""Exact and near duplicates, on rows built by the real reader path."""

from __future__ import annotations

import random

from pipeline.config import DedupParams, IngestParams
from pipeline.ingest.articles import to_article
from pipeline.ingest.dedup import collapse_exact, jaccard, mark_near_duplicates, shingle_hashes
from pipeline.ingest.records import RawRecord

WORDS = ("council police vote ban camera privacy vendor audit warrant rule city state law court data "
         "face match error bias public safety pilot airport store chief mayor senator group letter").split()


def _row(text: str, url: str | None = None, path: str = "f.jsonl", line: int = 1, **kw):
    return to_article(RawRecord(source_path=path, kind="jsonl", line=line, url=url, body=text, **kw), IngestParams())


def _story(seed: int, n: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + str(rng.randint(0, 99)) for _ in range(n))


def test_exact_duplicates_collapse_keeping_every_source_and_url_and_filling_gaps():
    a = _row("Short text", "https://x.example/a?utm_source=n", path="a.jsonl", line=3)
    b = _row("Short text, longer version", "https://X.example/a#frag", path="b.csv", line=2,
             published="2021-01-01", provider="Ledger")
    rows, merged = collapse_exact([a, b])
    assert merged == 1 and len(rows) == 1
    (row,) = rows
    assert row["text"] == "Short text, longer version"  # the longest text is kept
    assert row["urls"] == ["https://X.example/a#frag", "https://x.example/a?utm_source=n"]
    assert [(s["path"], s["line"]) for s in row["sources"]] == [("a.jsonl", 3), ("b.csv", 2)]
    assert row["provider"] == "Ledger" and row["published"] is not None


def test_near_duplicate_clusters_are_found_and_independent_of_order():
    base = _story(1).split()
    variants = []
    for v in range(25):  # syndicated copies: a few words changed each
        words = list(base)
        rng = random.Random(100 + v)
        for _ in range(3):
            words[rng.randrange(len(words))] = "edited"
        variants.append(_row(" ".join(words), f"https://outlet{v}.example/story"))
    others = [_row(_story(1000 + k), f"https://other{k}.example/") for k in range(40)]
    amp = _row(" ".join(base), "https://outlet0.example/amp/story")
    rows, _ = collapse_exact(variants + others + [amp])
    assert mark_near_duplicates(rows, DedupParams()) == 25
    marked = {r["article_id"]: r["duplicate_of"] for r in rows}
    cluster = {v["article_id"] for v in variants} | {amp["article_id"]}
    originals = {marked[a] for a in cluster if marked[a]}
    assert len(originals) == 1
    (original,) = originals
    assert original in cluster and original != amp["article_id"]  # an AMP page is never the original
    assert all(marked[o["article_id"]] is None for o in others)
    shuffled = list(rows)
    random.Random(7).shuffle(shuffled)
    for r in shuffled:
        r["duplicate_of"] = r["duplicate_similarity"] = None
    shuffled, _ = collapse_exact(shuffled)
    mark_near_duplicates(shuffled, DedupParams())
    assert {r["article_id"]: r["duplicate_of"] for r in shuffled} == marked


def test_pairs_above_the_threshold_are_found_and_below_are_not():
    base = _story(5, 400).split()
    rng = random.Random(3)
    sims = {True: [], False: []}
    for trial in range(30):
        words = list(base)
        for i in rng.sample(range(len(words)), rng.randint(20, 45)):
            words[i] = f"new{trial}x{i}"
        a, b = _row(" ".join(base), "https://a.example/"), _row(" ".join(words), f"https://b{trial}.example/")
        sim = jaccard(shingle_hashes(a["text"], 3), shingle_hashes(b["text"], 3))
        rows, _ = collapse_exact([a, b])
        found = mark_near_duplicates(rows, DedupParams(threshold=0.6)) == 1
        sims[found].append(sim)
        assert found == (sim >= 0.6), sim
    assert sims[True] and sims[False]  # both sides of the threshold were exercised
