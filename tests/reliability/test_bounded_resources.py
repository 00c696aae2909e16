"""Bounded resources: 50 MB of input keeps memory bounded. Ingest streams a 50 MB feed with the
memory it needs for a 5 MB one (within 1.5x); 50 MB of oversized inputs (a 20 MB JSONL line,
a 20 MB text file, a 10 MB front-matter file, an article over ingest.max_article_chars) are
quarantined with their reason without being held in memory, and an article of 150,000
characters is parsed in pieces (nlp.max_chunk_chars) with its offsets intact, for the memory
of one piece. Peak memory is the child's ru_maxrss, compared with a demo run measured here."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE

pytestmark = pytest.mark.slow

_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")


def _peak_mb(*args) -> float:
    """Run ``frstance ARGS`` under a small parent that reports the child's peak RSS."""
    res = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-m", "pipeline", *map(str, args)],
                         capture_output=True, text=True, cwd=REPO, timeout=900)
    kb, rc = res.stdout.split()[-2:]
    assert rc == "0", res.stderr
    return int(kb) / 1024


def _vocab(rng: random.Random) -> list[str]:
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(5000)]


def _prose(rng: random.Random, vocab: list[str], chars: int) -> str:
    out, n = [], 0
    while n < chars:
        s = " ".join(rng.choice(vocab) for _ in range(14)).capitalize() + (".\n\n" if rng.random() < 0.2 else ". ")
        out.append(s)
        n += len(s)
    return "".join(out)[:chars]


def _feed(path: Path, megabytes: int, seed: int) -> int:
    rng = random.Random(seed)
    vocab = _vocab(rng)
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        while f.tell() < megabytes * 1_000_000:
            f.write(json.dumps({"url": f"https://big.test/{n}", "title": f"Item {n}", "published": "2024-01-02",
                                "text": " ".join(rng.choice(vocab) for _ in range(300))}) + "\n")
            n += 1
    return n


def test_ingest_of_50_mb_needs_the_memory_of_5_mb(tmp_path):
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    n_small, n_large = _feed(small, 5, 1), _feed(large, 50, 2)
    peak_small = _peak_mb("ingest", "--quiet", "--workers", "1", "--input", small, "--out", tmp_path / "s")
    peak_large = _peak_mb("ingest", "--quiet", "--workers", "1", "--input", large, "--out", tmp_path / "l")
    assert pq.read_metadata(tmp_path / "s" / "articles.parquet").num_rows == n_small
    assert pq.read_metadata(tmp_path / "l" / "articles.parquet").num_rows == n_large
    assert peak_large <= 1.5 * peak_small, f"50 MB: {peak_large:.0f} MB, 5 MB: {peak_small:.0f} MB"


def test_50_mb_of_oversized_input_is_quarantined_and_a_long_article_parsed_in_pieces(tmp_path):
    rng = random.Random(3)
    vocab = _vocab(rng)
    d = tmp_path / "in"
    d.mkdir()
    long_text = "Police use of facial recognition should be banned, said Ann Lee. " + _prose(rng, vocab, 150_000)
    with open(d / "feed.jsonl", "w", encoding="utf-8") as f:
        f.write(json.dumps({"url": "https://big.test/giant", "title": "Giant", "text": _prose(rng, vocab, 20_000_000)}) + "\n")
        f.write(json.dumps({"url": "https://big.test/over", "title": "Over", "text": _prose(rng, vocab, 1_100_000)}) + "\n")
        f.write(json.dumps({"url": "https://big.test/long", "title": "Long", "text": long_text}) + "\n")
    (d / "giant.txt").write_text(_prose(rng, vocab, 20_000_000), encoding="utf-8")
    (d / "giant.md").write_text('---\ntitle: "Giant"\n---\n' + _prose(rng, vocab, 10_000_000), encoding="utf-8")
    assert sum(p.stat().st_size for p in d.iterdir()) > 50_000_000

    baseline = _peak_mb("run", "--quiet", "--workers", "1", "--no-cache", "--input", SAMPLE, "--out", tmp_path / "demo")
    peak = _peak_mb("run", "--quiet", "--workers", "1", "--no-cache", "--input", d, "--out", tmp_path / "out")
    out = tmp_path / "out"
    q = pq.read_table(out / "quarantine.parquet").to_pylist()
    assert sorted(Path(r["source_path"]).name for r in q) == ["feed.jsonl", "feed.jsonl", "giant.md", "giant.txt"]
    assert {r["reason"] for r in q} == {"too_large"}
    details = " | ".join(r["detail"] for r in q)
    assert "max_line_bytes" in details and "max_document_bytes" in details and "max_article_chars" in details
    articles = pq.read_table(out / "articles.parquet").to_pylist()
    assert len(articles) == 1 and articles[0]["text"].endswith(long_text.strip())
    text = articles[0]["text"]
    ents = pq.read_table(out / "entities.parquet").to_pylist()
    assert max(e["end_char"] for e in ents) > 100_000  # found in the second piece as well
    assert all(text[e["start_char"]:e["end_char"]] == e["text"] for e in ents)
    quotes = pq.read_table(out / "quotes.parquet").to_pylist()
    assert any(q["speaker_name"] == "Ann Lee" for q in quotes)
    # a piece of 100,000 characters needs ~300 MB of parser memory with the small model
    assert peak <= baseline + 450, f"peak {peak:.0f} MB vs {baseline:.0f} MB for the demo corpus"
