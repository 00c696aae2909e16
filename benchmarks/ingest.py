"""Ingest throughput on one core: records per second for front-matter records and for JSONL.

    python benchmarks/ingest.py [--copies N] [--shared ../shared]

Builds a corpus in a temporary folder from the real records and items in ../shared
(falling back to the bundled demo corpus), each copy under new URLs and with the words
of its titles and excerpts shuffled (seeded), so that copies are distinct articles
rather than exact or near duplicates of each other, then times (a) reading + cleaning alone and (b) the
whole `ingest` run (read, de-duplicate, write Parquet) with one worker.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import machine  # noqa: E402
from pipeline.config import Params  # noqa: E402
from pipeline.ingest.discover import discover  # noqa: E402
from pipeline.run import read_files, run  # noqa: E402


def _front_matter_sources(shared: Path) -> list[Path]:
    found = sorted((shared / "corpus" / "records").glob("*.md"))
    return found or sorted((REPO / "data" / "sample" / "records").glob("*.md"))


def _jsonl_source(shared: Path) -> Path:
    p = shared / "corpus" / "items.jsonl"
    return p if p.exists() else REPO / "data" / "sample" / "feeds" / "wire.jsonl"


def _shuffle(text: str, copy: int) -> str:
    if copy == 0 or not text:
        return text
    words = text.split(" ")
    random.Random(f"{copy}:{text}").shuffle(words)
    return " ".join(words)


_QUOTED = re.compile(r'^(\s*(?:- )?(?:title|excerpt): )"(.*)"$', re.MULTILINE)


def build(folder: Path, shared: Path, copies: int) -> tuple[Path, Path]:
    fm_dir = folder / "records"
    fm_dir.mkdir()
    sources = _front_matter_sources(shared)
    url = re.compile(r'(webUrl: "?https?://[^"\s]+)')
    for c in range(copies):
        for src in sources:
            text = src.read_text(encoding="utf-8")
            text = url.sub(lambda m: f"{m.group(1)}{'&' if '?' in m.group(1) else '?'}copy={c}", text)
            text = _QUOTED.sub(lambda m: f'{m.group(1)}"{_shuffle(m.group(2), c)}"', text)
            (fm_dir / f"{c:04d}-{src.name}").write_text(text, encoding="utf-8")
    jsonl = folder / "items.jsonl"
    lines = _jsonl_source(shared).read_text(encoding="utf-8").splitlines()
    with jsonl.open("w", encoding="utf-8") as fh:
        for c in range(copies):
            for line in lines:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                row["title"] = _shuffle(row.get("title") or "", c)
                row["excerpt"] = _shuffle(row.get("excerpt") or "", c)
                if row.get("url"):
                    row["url"] += ("&" if "?" in row["url"] else "?") + f"copy={c}"
                fh.write(json.dumps(row) + "\n")
    return fm_dir, jsonl


def measure(label: str, path: Path, out: Path, params: Params) -> None:
    files = discover([str(path)]).files
    t = time.perf_counter()
    n_read = sum(r.inputs for r in read_files(files, params, workers=1))
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    manifest = run([str(path)], out, params, workers=1)
    run_s = time.perf_counter() - t
    n = manifest["counts"]["inputs_read"]
    assert n == n_read
    c = manifest["counts"]
    print(f"{label:<14} {len(files):>6} files {n:>7} records | read+clean {n / read_s:>8,.0f} rec/s "
          f"| full ingest run (dedup + Parquet) {n / run_s:>8,.0f} rec/s ({run_s:.2f} s; "
          f"{c['duplicates']} duplicates, {c['near_duplicates']} near-duplicates)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=30, help="copies of the source corpus (default 30)")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = ap.parse_args()
    params = Params()
    print(f"machine: {machine.describe()}, one worker")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fm_dir, jsonl = build(folder, args.shared, args.copies)
        measure("front matter", fm_dir, folder / "out-fm", params)
        measure("JSONL", jsonl, folder / "out-jsonl", params)
    print("goal: >= 2,000 records/s on one core")


if __name__ == "__main__":
    main()
