"""Scale figures of issue 6, each beside its baseline measured in the same session.

    python benchmarks/scale.py [--articles 2000] [--memory 1000,10000] [--only workers,incremental,memory]
                               [--texts ../shared/eval/polnear/train.jsonl]

Builds synthetic corpora in a temporary folder: every article is a title from the real
items in ../shared (words shuffled per copy) over 3-6 paragraphs drawn (seeded) from the
bundled demo articles' paragraphs and the real excerpts, so articles are distinct, have
quotes and attributions, and are about 1,500 characters long. Then, with `frstance run`
as a user runs it (a subprocess, wall time including start-up and model loads):

* workers: --workers 1 vs --workers 2 (no cache), and bare `nlp.pipe` of the same spaCy
  model over the same texts in one process (model load excluded) as the throughput baseline;
* incremental: a full run, the same run again, 1% new articles added, a new stance model
  (the shipped one re-saved, so its sha256 differs) -- what each recomputes and how long;
* with ``--texts JSONL``, the workers figure runs on real articles instead (PolNeAR's news
  articles are about 4,500 characters, three times the synthetic ones, and mostly not about
  facial recognition, so their stance and quotation stance are not computed);
* memory: peak RSS of the whole process tree (sampled every 50 ms) for the memory corpora.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import machine  # noqa: E402


def _paragraph_pool(shared: Path) -> tuple[list[str], list[str]]:
    paras: list[str] = []
    for f in sorted((REPO / "data" / "sample").rglob("*")):
        if f.suffix in (".txt", ".md"):
            body = f.read_text(encoding="utf-8").split("\n---\n", 2)[-1] if f.suffix == ".md" else f.read_text(
                encoding="utf-8")
            paras += [p.strip() for p in re.split(r"\n\s*\n", body) if len(p.strip()) > 80 and ":" not in p[:20]]
    titles = []
    items = shared / "corpus" / "items.jsonl"
    if items.exists():
        for line in items.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("excerpt") and len(row["excerpt"]) > 80:
                paras.append(row["excerpt"].strip())
            if row.get("title"):
                titles.append(row["title"])
    return paras, titles or ["Facial recognition"]


def build_corpus(path: Path, n: int, shared: Path, seed: int = 0, start: int = 0) -> Path:
    paras, titles = _paragraph_pool(shared)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            rng = random.Random(f"{seed}:{i}")
            words = rng.choice(titles).split()
            rng.shuffle(words)
            body = "\n\n".join(rng.sample(paras, rng.randint(3, 6)))
            fh.write(json.dumps({"url": f"https://bench.example/{seed}/{i}", "title": " ".join(words),
                                 "text": body, "published": f"20{18 + i % 7}-0{1 + i % 9}-1{i % 10}T12:00:00Z",
                                 "provider": f"Outlet {i % 13}"}) + "\n")
    return path


class PeakRss:
    """Peak summed RSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self.peak_one = 0
        self._stop = threading.Event()
        self._every = every
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                rss = []
                for p in procs:
                    try:
                        rss.append(p.memory_info().rss)
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, sum(rss))
                self.peak_one = max(self.peak_one, max(rss, default=0))
            except psutil.Error:
                pass
            self._stop.wait(self._every)

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


def frstance(*args: str, rss: bool = False) -> tuple[float, dict, PeakRss | None]:
    cmd = [sys.executable, "-m", "pipeline", "run", "--quiet", *args]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    meter = PeakRss(proc.pid) if rss else None
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    if meter:
        meter.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    outdir = Path(args[args.index("--out") + 1])
    return wall, json.loads((outdir / "run_manifest.json").read_text()), meter


def bare_nlp_pipe(corpus: Path, model: str) -> float:
    """Seconds for bare nlp.pipe of the model as shipped over the articles' texts, in a fresh process."""
    code = f"""
import json, sys, time
sys.path.insert(0, {str(REPO)!r})
import spacy, pyarrow.parquet as pq
texts = pq.read_table(sys.argv[1], columns=["text"]).column("text").to_pylist()
nlp = spacy.load({model!r})
t = time.perf_counter()
for _ in nlp.pipe(texts, batch_size=32):
    pass
print(time.perf_counter() - t)
"""
    res = subprocess.run([sys.executable, "-c", code, str(corpus)], capture_output=True, text=True, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def real_corpus(path: Path, source: Path, n: int) -> Path:
    """The first ``n`` articles of a JSONL file of real texts (``text``, and ``title`` / ``doc_id``
    when it has them, as PolNeAR's files do) as frstance input, read where it lies, never copied
    into the project."""
    with source.open(encoding="utf-8") as src, path.open("w", encoding="utf-8") as fh:
        for i, line in enumerate(src):
            if i >= n:
                break
            row = json.loads(line)
            key = row.get("doc_id") or row.get("url") or str(i)
            fh.write(json.dumps({"url": f"https://bench.example/real/{key}", "title": row.get("title") or "",
                                 "text": row["text"]}) + "\n")
    return path


def bench_workers(tmp: Path, n: int, shared: Path, texts: Path | None = None) -> None:
    from pipeline.config import Params

    if texts is not None:
        corpus = real_corpus(tmp / "workers.jsonl", texts, n)
        print(f"\n(real texts: the first {n} articles of {texts})")
    else:
        corpus = build_corpus(tmp / "workers.jsonl", n, shared)
    w1, m1, _ = frstance("--input", str(corpus), "--out", str(tmp / "w1"), "--workers", "1", "--no-cache")
    w2, m2, _ = frstance("--input", str(corpus), "--out", str(tmp / "w2"), "--workers", "2", "--no-cache")
    bare = bare_nlp_pipe(tmp / "w1" / "articles.parquet", Params().nlp.model)
    arts = m1["counts"]["ingested"]
    print(f"\n## workers and throughput ({arts} articles, {m1['counts']['extract']['quotes']} attributions)")
    print(f"bare nlp.pipe, 1 process, model load excluded: {bare:7.1f} s  {arts / bare:6.1f} articles/s  (baseline)")
    print(f"frstance run --workers 1 (end to end)        : {w1:7.1f} s  {arts / w1:6.1f} articles/s  "
          f"= {bare / w1:.2f} x bare")
    print(f"frstance run --workers 2 (end to end)        : {w2:7.1f} s  {arts / w2:6.1f} articles/s  "
          f"= {bare / w2:.2f} x bare")
    print(f"speed-up 2 workers vs 1: {w1 / w2:.2f} x   (goal >= 1.7)")
    print(f"throughput --workers 2 vs bare nlp.pipe: {bare / w2:.2f} x   (goal >= 0.85)")
    t1 = m1["timings_s"]
    cpu = {k: t1.get(k, 0) for k in ("parse", "extract", "classify_articles", "classify_quotes")}
    print("where one worker's time goes (s): " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
          + f", ingest {t1.get('read', 0) + t1.get('dedup', 0):.1f}, assemble {t1.get('assemble', 0):.1f}, "
          f"subtopics {t1.get('subtopics', 0):.1f}, actors {t1.get('actors', 0):.1f}")


def bench_incremental(tmp: Path, n: int, shared: Path) -> None:
    corpus = tmp / "inc"
    corpus.mkdir()
    build_corpus(corpus / "base.jsonl", n, shared)
    out = str(tmp / "inc-out")
    full, m_full, _ = frstance("--input", str(corpus), "--out", out)
    again, m_again, _ = frstance("--input", str(corpus), "--out", out)
    build_corpus(corpus / "new.jsonl", max(1, n // 100), shared, seed=1)
    add, m_add, _ = frstance("--input", str(corpus), "--out", out)
    from pipeline.classify.model_store import resave_copy

    model = resave_copy(REPO / "models" / "stance", tmp / "model-copy", "benchmarks/scale.py")
    new_model, m_model, _ = frstance("--input", str(corpus), "--out", out, "--model-dir", str(model))

    def parsed(m: dict) -> str:
        x = m["cache"]
        return f"parsed {x['parsed']:>5}, classified {x['classified']:>5} of {m['counts']['extract']['articles']}"

    print(f"\n## incremental ({m_full['counts']['ingested']} articles, default workers)")
    print(f"full run (empty cache)      : {full:7.1f} s  {parsed(m_full)}  (baseline)")
    print(f"same corpus again           : {again:7.1f} s  {parsed(m_again)}  = {again / full:.1%} of the full run "
          "(goal <= 5%)")
    print(f"+1% new articles            : {add:7.1f} s  {parsed(m_add)}  = {add / full:.1%} of the full run")
    print(f"new stance model            : {new_model:7.1f} s  {parsed(m_model)}  = {new_model / full:.1%} "
          "(predictions recomputed, nothing parsed)")


def bench_memory(tmp: Path, sizes: list[int], shared: Path) -> None:
    print("\n## memory: peak RSS of the process tree, default workers, no cache")
    base = None
    for n in sizes:
        corpus = build_corpus(tmp / f"mem-{n}.jsonl", n, shared)
        wall, m, meter = frstance("--input", str(corpus), "--out", str(tmp / f"mem-{n}"), "--no-cache", rss=True)
        assert meter is not None
        base = base or meter.peak
        print(f"{m['counts']['ingested']:>6} articles: peak RSS {meter.peak / 2**20:7.0f} MiB (largest process "
              f"{meter.peak_one / 2**20:5.0f} MiB), {wall:6.1f} s  = {meter.peak / base:.2f} x the first "
              f"(goal at 10x the articles: <= 1.2 x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=2000, help="articles for workers / incremental (default 2000)")
    ap.add_argument("--memory", default="1000,10000", help="corpus sizes for the memory figure")
    ap.add_argument("--only", default="workers,incremental,memory")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--texts", type=Path, default=None,
                    help="workers figure on real articles: a JSONL file with a 'text' per line (for example "
                         "../shared/eval/polnear/train.jsonl) instead of the synthetic corpus")
    args = ap.parse_args()
    import psutil

    print(f"machine: {machine.describe()}, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        if "workers" in only:
            bench_workers(t, args.articles, args.shared, args.texts)
        if "incremental" in only:
            bench_incremental(t, args.articles, args.shared)
        if "memory" in only:
            bench_memory(t, [int(x) for x in args.memory.split(",")], args.shared)


if __name__ == "__main__":
    main()
