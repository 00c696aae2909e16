"""The stages in order: discover -> read -> de-duplicate -> write, with a manifest.

The stage functions take and return rows / tables; this module wires them together,
and hands tables to :mod:`pipeline.store` for writing.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import importlib.metadata as md
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
from tqdm.auto import tqdm

from pipeline import __version__
from pipeline.actors import actors_table, network_gexf
from pipeline.config import Params
from pipeline.ingest.dedup import collapse_exact, mark_near_duplicates
from pipeline.ingest.discover import Discovery, discover
from pipeline.ingest.reader import FileResult, read_file
from pipeline.ingest.records import Quarantined
from pipeline.schemas import ACTORS, ARTICLES, ENTITIES, PREDICTIONS, QUARANTINE, QUOTES, TOPIC_TERMS, TOPICS
from pipeline.store import OutputError, OutputLock, atomic_write, write_json, write_table

MANIFEST = "run_manifest.json"
NETWORK = "actors.gexf"
_LIBRARIES = ("pyarrow", "pandas", "numpy", "spacy", "scikit-learn", "joblib", "onnxruntime", "PyYAML",
              "python-frontmatter", "datasketch", "python-dateutil", "tqdm", "dvc")


@dataclass
class IngestResult:
    articles: pa.Table
    quarantine: pa.Table
    counts: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def _read_one(args: tuple[str, Path, Any]) -> FileResult:
    shown, path, ingest_params = args
    return read_file(shown, path, ingest_params)


def read_files(
    files: list[tuple[str, Path]], params: Params, workers: int = 1, progress: bool = False
) -> Iterator[FileResult]:
    """Read every file, in the order given, with ``workers`` processes."""
    jobs = [(shown, path, params.ingest) for shown, path in files]
    bar = tqdm(total=len(jobs), unit="file", desc="ingest", disable=not progress, leave=False)
    try:
        if workers <= 1 or len(jobs) < 2:
            for job in jobs:
                yield _read_one(job)
                bar.update()
        else:
            chunk = max(1, min(64, len(jobs) // (workers * 8) or 1))
            with cf.ProcessPoolExecutor(max_workers=workers) as pool:
                for result in pool.map(_read_one, jobs, chunksize=chunk):
                    yield result
                    bar.update()
    finally:
        bar.close()


def build_tables(
    results: Iterable[FileResult], discovery: Discovery, params: Params
) -> IngestResult:
    """Collapse exact duplicates, mark near-duplicates and build the two tables."""
    rows: list[dict[str, Any]] = []
    quarantined: list[Quarantined] = list(discovery.problems)
    by_kind: Counter[str] = Counter()
    t0 = time.perf_counter()
    for res in results:
        rows.extend(res.articles)
        quarantined.extend(res.quarantined)
        by_kind.update(r["input_kind"] for r in res.articles)
    t_read = time.perf_counter() - t0
    n_records = len(rows)
    t1 = time.perf_counter()
    articles, n_dups = collapse_exact(rows)
    n_near = mark_near_duplicates(articles, params.dedup)
    t_dedup = time.perf_counter() - t1
    quarantined.sort(key=lambda q: (q.source_path, q.line or 0, q.item or "", q.reason, q.detail))
    counts = {
        "files": len(discovery.files),
        "inputs_read": n_records + len(quarantined),
        "ingested": len(articles),
        "duplicates": n_dups,
        "quarantined": len(quarantined),
        "near_duplicates": n_near,
        "with_warnings": sum(1 for a in articles if a["warnings"]),
        "skipped_hidden": discovery.skipped_hidden,
        "records_by_kind": dict(sorted(by_kind.items())),
        "quarantined_by_reason": dict(sorted(Counter(q.reason for q in quarantined).items())),
    }
    assert counts["inputs_read"] == counts["ingested"] + counts["duplicates"] + counts["quarantined"]
    return IngestResult(
        articles=ARTICLES.from_rows(articles),
        quarantine=QUARANTINE.from_rows(q.as_row() for q in quarantined),
        counts=counts,
        timings={"read": round(t_read, 4), "dedup": round(t_dedup, 4)},
    )


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _files_digest(files: list[tuple[str, Path]]) -> tuple[str, int]:
    h = hashlib.sha256()
    total = 0
    for shown, path in files:
        try:
            st = path.stat()
            size, mtime = st.st_size, st.st_mtime_ns
        except OSError:
            size, mtime = -1, -1
        total += max(size, 0)
        h.update(f"{shown}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest(), total


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Models:
    quote_model: Any
    quote_model_version: str
    classifier: Any  # pipeline.classify.model_store.Classifier


def load_models(params: Params) -> Models:
    """Load and verify every model the run needs (raises ModelError / NlpError / EmbeddingError)."""
    from pipeline.classify import model_store
    from pipeline.classify.embed import get_embedder
    from pipeline.extract import quote_model as qm
    from pipeline.extract.nlp import load_nlp

    model_dir = Path(params.quotes.model_dir) if params.quotes.model_dir else None
    quote_model, quote_version = qm.load_with_version(model_dir)
    stance_dir = Path(params.classify.model_dir) if params.classify.model_dir else None
    classifier = model_store.load(stance_dir)
    get_embedder()
    load_nlp(params.nlp.model)
    return Models(quote_model, quote_version, classifier)


def _model_info(params: Params, models: Models | None) -> dict[str, Any] | None:
    if models is None:
        return None
    return {"dir": params.quotes.model_dir or "models/quotes (shipped)", "version": models.quote_model_version}


def _classifier_info(params: Params, models: Models | None) -> dict[str, Any] | None:
    if models is None:
        return None
    meta = models.classifier.metadata
    return {"dir": params.classify.model_dir or "models/stance (shipped)", "version": models.classifier.version,
            "training_data_sha256": meta.get("training_data_sha256"),
            "chosen": {t: meta.get("cv", {}).get(t, {}).get("chosen") for t in ("topic", "stance")}}


def _chunk_work(articles: pa.Table, params: Params, models: Models, progress: bool = False) -> tuple:
    """Everything done per article: parse, attributions, entities, predictions, quote stance."""
    from pipeline.classify.stage import label_chunk
    from pipeline.extract.stage import extract_tables

    ext = extract_tables(articles, params.nlp, models.quote_model, models.quote_model_version, progress)
    predictions, quotes, timings = label_chunk(articles, ext.quotes, models.classifier,
                                               params.classify.top_features)
    return ext.entities, quotes, predictions, ext.counts, {**ext.timings, **timings}


_WORKER: dict[str, Any] = {}


def _init_worker(params: Params) -> None:
    _WORKER["params"] = params
    _WORKER["models"] = load_models(params)


def _worker_chunk(articles: pa.Table) -> tuple:
    return _chunk_work(articles, _WORKER["params"], _WORKER["models"])


def _add_counts(total: dict, part: dict) -> dict:
    for k, v in part.items():
        if isinstance(v, dict):
            total[k] = _add_counts(dict(total.get(k, {})), v)
        elif isinstance(v, (int, float)):
            total[k] = total.get(k, 0) + v
    return total


def _shards(n: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous row ranges, a few per worker so a slow shard does not idle the others."""
    size = max(1, -(-n // (workers * 4)))
    return [(i, min(n, i + size)) for i in range(0, n, size)]


def per_article_tables(articles: pa.Table, params: Params, models: Models, workers: int = 1,
                       progress: bool = False) -> tuple:
    """(entities, quotes, predictions, counts, timings) over all articles, in article order.

    With ``workers`` > 1 the articles are cut into contiguous shards processed by worker
    processes that each load the models once; every row depends only on its own article,
    so the concatenated tables equal a one-process run's row for row.
    """
    if workers <= 1 or articles.num_rows < 2 * workers:
        return _chunk_work(articles, params, models, progress)
    shards = [articles.slice(a, b - a) for a, b in _shards(articles.num_rows, workers)]
    parts = []
    bar = tqdm(total=articles.num_rows, unit="article", desc="extract", disable=not progress, leave=False)
    try:
        with cf.ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(params,)) as pool:
            for shard, part in zip(shards, pool.map(_worker_chunk, shards)):
                parts.append(part)
                bar.update(shard.num_rows)
    finally:
        bar.close()
    counts: dict = {}
    timings: dict = {}
    for p in parts:
        _add_counts(counts, p[3])
        _add_counts(timings, p[4])
    return (pa.concat_tables([p[0] for p in parts]), pa.concat_tables([p[1] for p in parts]),
            pa.concat_tables([p[2] for p in parts]), counts,
            {k: round(v, 4) for k, v in timings.items()})  # summed over workers: CPU seconds


def extract_into(articles: pa.Table, out: Path, params: Params, models: Models,
                 progress: bool = False, workers: int = 1) -> tuple[dict, dict, dict]:
    """Parse and classify ``articles``; write entities, quotes, predictions, subtopics and actors
    into ``out``; (counts, tables, timings)."""
    from pipeline.classify.stage import corpus_tables

    t0 = time.perf_counter()
    entities, quotes, predictions, counts, timings = per_article_tables(articles, params, models, workers, progress)
    timings = dict(timings)
    timings["per_article_wall"] = round(time.perf_counter() - t0, 4)
    cls = corpus_tables(articles, predictions, quotes, params)
    timings.update(cls.timings)
    t = time.perf_counter()
    actors = actors_table(cls.quotes, entities)
    gexf = network_gexf(actors)
    timings["actors"] = round(time.perf_counter() - t, 4)
    t = time.perf_counter()
    tables = _write_tables(out, (ENTITIES, entities), (QUOTES, cls.quotes),
                           (PREDICTIONS, cls.predictions), (TOPICS, cls.topics), (TOPIC_TERMS, cls.topic_terms),
                           (ACTORS, actors))
    try:
        atomic_write(out / NETWORK, lambda tmp: tmp.write_bytes(gexf))
    except OSError as exc:
        raise OutputError(f"cannot write {out / NETWORK}: {exc.strerror or exc}") from exc
    tables["network"] = {"file": NETWORK, "nodes_actors": actors.num_rows}
    timings["write_extract"] = round(time.perf_counter() - t, 4)
    return {**counts, **cls.counts, "actors": actors.num_rows}, tables, timings


def _write_tables(out: Path, *tables: tuple[Any, pa.Table]) -> dict[str, dict[str, Any]]:
    """Write each (spec, table) into ``out``; the manifest's entries for them."""
    try:
        for spec, table in tables:
            write_table(spec, table, out)
    except OSError as exc:
        raise OutputError(f"cannot write tables to {out}: {exc.strerror or exc}") from exc
    return {spec.name: {"file": spec.file, "rows": table.num_rows} for spec, table in tables}


EXTRACT_MANIFEST = "extract_manifest.json"


def extract_results(results: Path, params: Params, *, params_file: str | None = None,
                    progress: bool = False) -> dict[str, Any]:
    """``frstance extract``: read ``results/articles.parquet``, write entities and quotes beside it."""
    import pyarrow.parquet as pq

    results = Path(results)
    src = results / ARTICLES.file
    if not src.is_file():
        raise OutputError(f"{src} does not exist: run `frstance ingest --out {results}` first")
    started = dt.datetime.now(dt.timezone.utc)
    models = load_models(params)
    with OutputLock(results):
        try:
            articles = pq.read_table(src)
        except (OSError, pa.ArrowInvalid) as exc:
            raise OutputError(f"cannot read {src}: {exc}") from exc
        if not articles.schema.equals(ARTICLES.schema, check_metadata=False):
            raise OutputError(f"{src} does not have the articles schema of this frstance version")
        counts, tables, timings = extract_into(articles, results, params, models, progress,
                                               params.run.workers or default_workers())
        manifest = {
            "frstance_version": __version__,
            "command": "extract",
            "argv": sys.argv[1:],
            "started_at": started.isoformat(),
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "articles": articles.num_rows,
            "counts": {"extract": counts},
            "tables": tables,
            "params_file": params_file,
            "params_sha256": params.digest(),
            "spacy_model": {"name": params.nlp.model, "version": _version(params.nlp.model)},
            "quote_model": _model_info(params, models),
            "stance_model": _classifier_info(params, models),
            "timings_s": timings,
        }
        try:
            write_json(manifest, results / EXTRACT_MANIFEST)
        except OSError as exc:
            raise OutputError(f"cannot write {results / EXTRACT_MANIFEST}: {exc.strerror or exc}") from exc
    return manifest


def run(
    inputs: list[str],
    out: Path,
    params: Params,
    *,
    params_file: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    command: str = "run",
    stages: tuple[str, ...] = ("ingest", "extract"),
) -> dict[str, Any]:
    """Run the pipeline's ``stages`` over ``inputs`` into ``out``; returns the manifest it wrote.

    Raises ``InputError`` (usage) before any work, ``OutputError`` when ``out`` cannot be
    written or another run holds it.
    """
    started = dt.datetime.now(dt.timezone.utc)
    workers = workers or params.run.workers or default_workers()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    out = Path(out)
    discovery = discover(inputs, exclude=[out], skip_hidden=params.ingest.skip_hidden)
    timings["discover"] = round(time.perf_counter() - t, 4)
    models = load_models(params) if "extract" in stages else None  # fail fast on a bad model
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out}: {exc.strerror or exc}") from exc
    with OutputLock(out):
        result = build_tables(read_files(discovery.files, params, workers, progress), discovery, params)
        timings.update(result.timings)
        t = time.perf_counter()
        tables = _write_tables(out, (ARTICLES, result.articles), (QUARANTINE, result.quarantine))
        timings["write"] = round(time.perf_counter() - t, 4)
        counts = dict(result.counts)
        if models is not None:
            x_counts, x_tables, x_timings = extract_into(result.articles, out, params, models, progress, workers)
            counts["extract"] = x_counts
            tables.update(x_tables)
            timings.update(x_timings)
        digest, total_bytes = _files_digest(discovery.files)
        manifest = {
            "frstance_version": __version__,
            "command": command,
            "argv": sys.argv[1:],
            "started_at": started.isoformat(),
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "inputs": list(inputs),
            "files": {
                "count": len(discovery.files),
                "bytes": total_bytes,
                "digest": digest,
                "first": [shown for shown, _ in discovery.files[:1000]],
            },
            "counts": counts,
            "stages": list(stages),
            "tables": tables,
            "params_file": params_file,
            "params_sha256": params.digest(),
            "params": params.to_dict(),
            "spacy_model": {"name": params.nlp.model, "version": _version(params.nlp.model)},
            "quote_model": _model_info(params, models),
            "stance_model": _classifier_info(params, models),
            "versions": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                **{lib: _version(lib) for lib in _LIBRARIES},
            },
            "workers": workers,
            "timings_s": timings,
        }
        try:
            write_json(manifest, out / MANIFEST)
        except OSError as exc:
            raise OutputError(f"cannot write {out / MANIFEST}: {exc.strerror or exc}") from exc
    return manifest
