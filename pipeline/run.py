"""The stages in order: discover -> read -> de-duplicate -> write, with a manifest.

The stage functions take and return rows / tables; this module wires them together,
and hands tables to :mod:`pipeline.store` for writing.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa
from tqdm.auto import tqdm

from pipeline import __version__
from pipeline.batches import Versions, dist_version, model_versions
from pipeline.cache import IngestCache, cache_root, ingest_key
from pipeline.config import Params
from pipeline.ingest.build import build_articles
from pipeline.ingest.discover import Discovery, InputError, discover
from pipeline.ingest.reader import FileResult, is_tabular, iter_file, read_file
from pipeline.driver import ExtractOutcome, check_articles, run_per_article
from pipeline.schemas import ARTICLES, QUARANTINE
from pipeline.failpoints import failpoint
from pipeline.store import OutputError, OutputLock, Pending, write_json, write_table

MANIFEST = "run_manifest.json"
_LIBRARIES = ("pyarrow", "pandas", "numpy", "spacy", "scikit-learn", "joblib", "onnxruntime", "PyYAML",
              "python-frontmatter", "datasketch", "python-dateutil", "tqdm", "dvc", "dask", "distributed")


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
    """Read every file. Documents (front matter, plain text: each bounded by
    ``ingest.max_document_bytes``) are read by ``workers`` processes; tabular files (JSONL,
    JSON, CSV, Parquet: any size) are streamed in this process a chunk of records at a time.
    Results are not in file order; nothing downstream depends on the order."""
    docs = [(shown, path, params.ingest) for shown, path in files if not is_tabular(shown, path)]
    tables = [(shown, path) for shown, path in files if is_tabular(shown, path)]
    bar = tqdm(total=len(files), unit="file", desc="ingest", disable=not progress, leave=False)
    try:
        if workers <= 1 or len(docs) < 2:
            for job in docs:
                yield _read_one(job)
                bar.update()
        else:
            chunk = max(1, min(64, len(docs) // (workers * 8) or 1))
            from pipeline.engine import die_with_parent

            with cf.ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent,
                                        initargs=(os.getpid(),)) as pool:
                for result in pool.map(_read_one, docs, chunksize=chunk):
                    yield result
                    bar.update()
        for shown, path in tables:
            yield from iter_file(shown, path, params.ingest)
            bar.update()
    finally:
        bar.close()


def _ingest_counts(discovery: Discovery, counts: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ingest counts, in their documented order."""
    counts = {"files": len(discovery.files), **counts, "skipped_hidden": discovery.skipped_hidden}
    return {k: counts[k] for k in ("files", "inputs_read", "ingested", "duplicates", "quarantined",
                                   "near_duplicates", "with_warnings", "skipped_hidden", "records_by_kind",
                                   "quarantined_by_reason")}


def build_tables(
    results: Iterable[FileResult], discovery: Discovery, params: Params
) -> IngestResult:
    """The two ingest tables in memory, for callers that need them whole (training): the
    streamed build of :func:`pipeline.ingest.build.build_articles` into a temporary folder."""
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="frstance-ingest-") as tmp:
        quarantined, counts, timings = build_articles(results, discovery.problems, params, Path(tmp))
        articles = pq.read_table(Path(tmp) / ARTICLES.file).replace_schema_metadata(ARTICLES.schema.metadata)
    return IngestResult(articles=articles, quarantine=QUARANTINE.from_rows(q.as_row() for q in quarantined),
                        counts=_ingest_counts(discovery, counts), timings=timings)


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


def _model_info(params: Params, versions: Versions | None) -> dict[str, Any] | None:
    if versions is None:
        return None
    return {"dir": params.quotes.model_dir or "models/quotes (shipped)", "version": versions.quote_model}


def _classifier_info(params: Params, versions: Versions | None) -> dict[str, Any] | None:
    if versions is None:
        return None
    from pipeline.classify.model_store import trust

    meta = versions.stance_metadata
    return {"dir": params.classify.model_dir or "models/stance (shipped)", "version": versions.stance_model,
            "trust": trust(params.classify.model_dir, params.classify.model_sha256),
            "training_data_sha256": meta.get("training_data_sha256"),
            "chosen": {t: meta.get("cv", {}).get(t, {}).get("chosen") for t in ("topic", "stance")}}


def _ingest(discovery: Discovery, params: Params, out: Path, dest: Path, workers: int, progress: bool,
            timings: dict[str, float], on_miss: Callable[[], None] = lambda: None
            ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    """articles.parquet and quarantine.parquet into ``dest``: from the ingest cache when the
    inputs (by content), the ingest / dedup parameters and the ingest code are unchanged,
    else read, de-duplicated and written (streamed: records are spilled by article id,
    de-duplicated bucket by bucket and written in row groups, pipeline/ingest/build.py)."""
    files = (ARTICLES.file, QUARANTINE.file)
    t = time.perf_counter()
    cache = None
    if params.run.cache:
        key = ingest_key(discovery.files, [q.as_row() for q in discovery.problems], (params.ingest, params.dedup))
        cache = IngestCache(cache_root(out, params.run.cache_dir), key)
        hit = cache.get(dest, files)
        if hit is not None:
            timings["ingest_reused"] = round(time.perf_counter() - t, 4)
            tables = {ARTICLES.name: {"file": ARTICLES.file, "rows": hit["counts"]["ingested"]},
                      QUARANTINE.name: {"file": QUARANTINE.file, "rows": hit["counts"]["quarantined"]}}
            return _ingest_counts(discovery, hit["counts"]), tables, {"reused": True, "key": key}
    on_miss()  # the inputs changed: per-article work is likely, so the workers can start loading now
    try:
        quarantined, ingest_counts, ingest_timings = build_articles(
            read_files(discovery.files, params, workers, progress), discovery.problems, params, dest)
    except OSError as exc:
        raise OutputError(f"cannot write {out / ARTICLES.file}: {exc.strerror or exc}") from exc
    timings.update(ingest_timings)
    t = time.perf_counter()
    tables = _write_tables(dest, (QUARANTINE, QUARANTINE.from_rows(q.as_row() for q in quarantined)))
    tables[ARTICLES.name] = {"file": ARTICLES.file, "rows": ingest_counts["ingested"]}
    timings["write"] = round(time.perf_counter() - t + ingest_timings["write_articles"], 4)
    if cache is not None:
        cache.put(dest, files, {"counts": ingest_counts})
    return (_ingest_counts(discovery, ingest_counts), tables,
            {"reused": False, "key": cache.key if cache is not None else None})


def _engine_factory(params: Params, workers: int, engine: str, scheduler: str | None, started=None):
    from pipeline.engine import make_engine

    return lambda: started if started is not None else make_engine(engine, params, workers, scheduler)


def extract_into(articles: Path, out: Path, dest: Path, params: Params, versions: Versions, *, workers: int = 1,
                 engine: str = "local", scheduler: str | None = None, progress: bool = False,
                 started_engine=None) -> ExtractOutcome:
    """Parse and classify ``articles`` (an articles.parquet) with the cache in ``out``; write
    entities, quotes, predictions, subtopics and actors into ``dest`` (see :mod:`pipeline.driver`).
    ``started_engine``: a local engine whose workers were started earlier, used if work is found."""
    check_articles(Path(articles))
    return run_per_article(Path(articles), Path(out), params, versions,
                           _engine_factory(params, workers, engine, scheduler, started_engine), progress,
                           dest=Path(dest))


@contextmanager
def _publishing(out: Path) -> Iterator[Path]:
    """Hold ``out``'s lock; yield the pending folder the run writes into; publish it when the
    block ends normally, discard it otherwise (see :class:`pipeline.store.Pending`)."""
    with OutputLock(out):
        pending = Pending(out)
        dest = pending.open()
        try:
            yield dest
        except BaseException:
            pending.discard()
            raise
        pending.commit()


def _write_tables(out: Path, *tables: tuple[Any, pa.Table]) -> dict[str, dict[str, Any]]:
    """Write each (spec, table) into ``out``; the manifest's entries for them."""
    try:
        for spec, table in tables:
            write_table(spec, table, out)
    except OSError as exc:
        raise OutputError(f"cannot write tables to {out}: {exc.strerror or exc}") from exc
    return {spec.name: {"file": spec.file, "rows": table.num_rows} for spec, table in tables}


EXTRACT_MANIFEST = "extract_manifest.json"


def _engine_choice(params: Params, engine: str | None, scheduler: str | None) -> tuple[str, str | None]:
    engine = engine or params.run.engine
    scheduler = scheduler if scheduler is not None else params.run.scheduler
    if engine != "dask" and scheduler:
        raise InputError("--scheduler needs --engine dask")
    return engine, scheduler


def extract_results(results: Path, params: Params, *, params_file: str | None = None, workers: int | None = None,
                    engine: str | None = None, scheduler: str | None = None,
                    progress: bool = False) -> dict[str, Any]:
    """``frstance extract``: read ``results/articles.parquet``, write the per-article tables beside it."""
    results = Path(results)
    check_articles(results / ARTICLES.file)
    engine, scheduler = _engine_choice(params, engine, scheduler)
    workers = workers or params.run.workers or default_workers()
    started = dt.datetime.now(dt.timezone.utc)
    versions = model_versions(params)
    with _publishing(results) as dest:
        x = extract_into(results / ARTICLES.file, results, dest, params, versions, workers=workers, engine=engine,
                         scheduler=scheduler, progress=progress)
        manifest = {
            "frstance_version": __version__,
            "command": "extract",
            "argv": sys.argv[1:],
            "started_at": started.isoformat(),
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "articles": x.counts["articles"],
            "counts": {"extract": x.counts},
            "tables": x.tables,
            "params_file": params_file,
            "params_sha256": params.digest(),
            "spacy_model": {"name": params.nlp.model, "version": dist_version(params.nlp.model)},
            "quote_model": _model_info(params, versions),
            "stance_model": _classifier_info(params, versions),
            "engine": x.engine,
            "cache": x.cache,
            "timings_s": x.timings,
        }
        try:
            write_json(manifest, dest / EXTRACT_MANIFEST)
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
    engine: str | None = None,
    scheduler: str | None = None,
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
    engine, scheduler = _engine_choice(params, engine, scheduler)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    out = Path(out)
    discovery = discover(inputs, exclude=[out], skip_hidden=params.ingest.skip_hidden)
    timings["discover"] = round(time.perf_counter() - t, 4)
    versions = model_versions(params) if "extract" in stages else None  # fail fast on a bad model
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out}: {exc.strerror or exc}") from exc
    warming: list = []  # a local engine started while ingesting (see _ingest's on_miss)

    def start_workers() -> None:
        if versions is not None and engine == "local" and workers > 1:
            from pipeline.engine import LocalEngine

            warming.append(LocalEngine(params, workers))
            warming[0].start()

    with _publishing(out) as dest:
        try:
            counts, tables, ingest_info = _ingest(discovery, params, out, dest, workers, progress, timings,
                                                  on_miss=start_workers)
            engine_info: dict[str, Any] = {}
            cache_info: dict[str, Any] = {}
            if versions is not None:
                x = extract_into(dest / ARTICLES.file, out, dest, params, versions, workers=workers,
                                 engine=engine, scheduler=scheduler, progress=progress,
                                 started_engine=warming[0] if warming else None)
                counts["extract"] = x.counts
                tables.update(x.tables)
                timings.update(x.timings)
                engine_info, cache_info = x.engine, x.cache
        finally:
            for e in warming:  # unused (everything cached) or already closed: close is idempotent
                e.close()
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
            "ingest": ingest_info,
            "stages": list(stages),
            "tables": tables,
            "params_file": params_file,
            "params_sha256": params.digest(),
            "params": params.to_dict(),
            "spacy_model": {"name": params.nlp.model, "version": dist_version(params.nlp.model)},
            "quote_model": _model_info(params, versions),
            "stance_model": _classifier_info(params, versions),
            "versions": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                **{lib: dist_version(lib) for lib in _LIBRARIES},
            },
            "workers": workers,
            "engine": engine_info,
            "cache": cache_info,
            "timings_s": timings,
        }
        failpoint("manifest")
        try:
            write_json(manifest, dest / MANIFEST)
        except OSError as exc:
            raise OutputError(f"cannot write {out / MANIFEST}: {exc.strerror or exc}") from exc
    return manifest
