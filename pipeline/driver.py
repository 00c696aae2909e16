"""The per-article stages over a whole corpus, streamed: cache lookup, batches, assembly.

1. Read ``articles.parquet`` in row batches and key every article by content
   (:mod:`pipeline.batches`); keys found in the cache (:mod:`pipeline.cache`) are done.
2. Cut the rest into jobs of ``run.batch_articles`` articles and run them on the engine
   (:mod:`pipeline.engine`); each result is written to the cache as it arrives, so a
   killed run keeps every finished batch and the next run starts where it stopped.
3. Assemble entities, quotes and predictions from the cache in article order, writing each
   table in row groups (never the whole corpus in memory), then the corpus-level tables
   (subtopics, actors) from what was written.

Nothing here depends on the number of workers, the engine or the batch size.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from pipeline.actors import actors_table, network_gexf
from pipeline.batches import ARTICLE_COLUMNS, Job, Versions, classify_key, extract_key
from pipeline.cache import ResultStore, cache_root, digest, folder_sizes, source_digest
from pipeline.classify.labels import ON_TOPIC
from pipeline.classify.subtopics import subtopic_tables
from pipeline.config import Params
from pipeline.failpoints import failpoint
from pipeline.schemas import (ACTORS, ARTICLES, CACHE_CLASSIFY, CACHE_EXTRACT, ENTITIES, PREDICTIONS, QUOTES,
                              STANCE_LABELS, TOPIC_TERMS, TOPICS)
from pipeline.store import OutputError, TableWriter, atomic_write, remove_stale_temp_files, write_table

NETWORK = "actors.gexf"
#: Rows read from articles.parquet at a time while keying and assembling.
READ_BATCH = 1024


@dataclass
class ExtractOutcome:
    counts: dict[str, Any]
    tables: dict[str, dict[str, Any]]
    timings: dict[str, float]
    cache: dict[str, Any]
    engine: dict[str, Any] = field(default_factory=dict)


def _article_batches(path: Path, columns: list[str] = ARTICLE_COLUMNS) -> Iterator[pa.Table]:
    try:
        pf = pq.ParquetFile(path)
        for rb in pf.iter_batches(batch_size=READ_BATCH, columns=columns):
            yield pa.Table.from_batches([rb])
    except (OSError, pa.ArrowInvalid) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from exc


def _keys(batch: pa.Table) -> tuple[list[str], list[str]]:
    ids = batch.column("article_id").to_pylist()
    titles = batch.column("title").to_pylist()
    texts = batch.column("text").to_pylist()
    return ([extract_key(a, t) for a, t in zip(ids, texts)],
            [classify_key(a, ti, t) for a, ti, t in zip(ids, titles, texts)])


def _jobs(path: Path, xstore: ResultStore, cstore: ResultStore, params: Params, size: int) -> Iterator[Job]:
    """Jobs of at most ``size`` articles lacking a classify result, in article order."""
    buf: list[pa.Table] = []
    n_buf = 0
    index = 0

    def make(tables: list[pa.Table]) -> Job:
        nonlocal index
        arts = pa.concat_tables(tables).combine_chunks()
        ek, ck = _keys(arts)
        have = [k for k in ek if k in xstore]
        job = Job(index, arts, ek, ck, xstore.get(have) if have else CACHE_EXTRACT.empty_table(), params,
                  (xstore.version, cstore.version))
        index += 1
        return job

    for batch in _article_batches(path):
        _, ck = _keys(batch)
        missing = [i for i, k in enumerate(ck) if k not in cstore]
        if not missing:
            continue
        part = batch.take(pa.array(missing, type=pa.int64()))
        while part.num_rows:
            take = min(size - n_buf, part.num_rows)
            buf.append(part.slice(0, take))
            n_buf += take
            part = part.slice(take)
            if n_buf == size:
                yield make(buf)
                buf, n_buf = [], 0
    if n_buf:
        yield make(buf)


def _batch_size(n_missing: int, workers: int, configured: int) -> int:
    """The configured batch, smaller when there are too few articles to keep every worker busy."""
    if workers <= 1:
        return configured
    return max(1, min(configured, -(-n_missing // (workers * 4))))


def _add(total: dict, part: dict) -> None:
    for k, v in part.items():
        if isinstance(v, (int, float)):
            total[k] = total.get(k, 0) + v


def run_per_article(articles_path: Path, out: Path, params: Params, versions: Versions,
                    make_engine: Callable[[], Any], progress: bool = False,
                    dest: Path | None = None) -> ExtractOutcome:
    """Steps 1-3 of the module docstring; returns counts, manifest table entries, timings.
    The cache lives in ``out``; the tables are written into ``dest`` (default ``out``): the
    run's pending folder, published by the caller (:class:`pipeline.store.Pending`)."""
    dest = Path(dest or out)
    from pipeline.batches import tables_of

    t0 = time.perf_counter()
    # With the cache off, results still pass through a store: a throw-away one, removed at the end.
    root = cache_root(out, params.run.cache_dir) if params.run.cache else Path(out) / ".frstance-nocache"
    if not params.run.cache:
        shutil.rmtree(root, ignore_errors=True)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the cache folder {root}: {exc.strerror or exc}") from exc
    xstore = ResultStore(root, "extract", versions.extract, CACHE_EXTRACT)
    cstore = ResultStore(root, "classify", versions.classify, CACHE_CLASSIFY)
    n_articles = 0
    n_missing = n_missing_extract = 0
    for batch in _article_batches(articles_path):
        ek, ck = _keys(batch)
        n_articles += batch.num_rows
        n_missing += sum(1 for k in ck if k not in cstore)
        n_missing_extract += sum(1 for k in ek if k not in xstore)
    timings: dict[str, float] = {"cache_lookup": round(time.perf_counter() - t0, 4)}

    engine_info: dict[str, Any] = {"engine": "none (everything cached)" if not n_missing else None}
    work: dict[str, float] = {}
    t1 = time.perf_counter()
    if n_missing:
        engine = make_engine()
        engine_info = engine.describe()
        size = _batch_size(n_missing, engine.workers, params.run.batch_articles)
        bar = tqdm(total=n_missing, unit="article", desc="parse+classify", disable=not progress, leave=False)
        try:
            for done in engine.map(_jobs(articles_path, xstore, cstore, params, size)):
                try:
                    xstore.put(done.new_extract)
                    cstore.put(done.classified)
                except OSError as exc:
                    raise OutputError(f"cannot write the cache in {root}: {exc.strerror or exc}") from exc
                failpoint("cache.stored")
                _add(work, done.timings)
                bar.update(done.classified.num_rows)
        finally:
            bar.close()
            engine.close()
    timings["per_article_wall"] = round(time.perf_counter() - t1, 4)
    timings.update({k: round(v, 4) for k, v in work.items()})  # summed over workers: CPU seconds

    # 3. Assemble in article order, one row group per read batch.
    t2 = time.perf_counter()
    writers = [TableWriter(spec, dest) for spec in (ENTITIES, QUOTES, PREDICTIONS)]
    kinds: Counter[str] = Counter()
    stances: Counter[str] = Counter()
    n_ent = n_quotes = n_speaker = n_qstance = 0
    on_ids: list[str] = []
    on_texts: list[str] = []
    on_keys = hashlib.blake2b(digest_size=16)  # what the subtopics depend on (their cache key)
    org_entities: list[pa.Table] = []
    try:
        for batch in _article_batches(articles_path):
            ek, ck = _keys(batch)
            entities, quotes, predictions = tables_of(xstore.get(ek), cstore.get(ck))
            for w, t in zip(writers, (entities, quotes, predictions)):
                w.write(t)
            n_ent += entities.num_rows
            n_quotes += quotes.num_rows
            kinds.update(quotes.column("kind").to_pylist())
            n_speaker += sum(1 for s in quotes.column("speaker_name").to_pylist() if s)
            n_qstance += sum(1 for s in quotes.column("stance").to_pylist() if s is not None)
            stances.update(s for s in predictions.column("stance").to_pylist() if s is not None)
            topics = predictions.column("topic").to_pylist()
            for aid, text, topic, key in zip(batch.column("article_id").to_pylist(),
                                             batch.column("text").to_pylist(), topics, ck):
                if topic == ON_TOPIC:
                    on_ids.append(aid)
                    on_texts.append(text)
                    on_keys.update(key.encode())
            orgs = entities.filter(pc.equal(entities.column("label"), "ORG")) if entities.num_rows else entities
            if orgs.num_rows:
                org_entities.append(orgs.select(["text", "canonical", "label"]))
        tables = {}
        for w in writers:
            w.close()
            tables[w.spec.name] = {"file": w.spec.file, "rows": w.rows}
    except OSError as exc:
        for w in writers:
            w.abort()
        raise OutputError(f"cannot write tables to {out}: {exc.strerror or exc}") from exc
    except BaseException:
        for w in writers:
            w.abort()
        raise
    timings["assemble"] = round(time.perf_counter() - t2, 4)

    # Corpus-level tables, from what was just written.
    t3 = time.perf_counter()
    topics_t, terms = _subtopics(root if params.run.cache else None, on_ids, on_texts, params,
                                 digest(versions.classify, params.subtopics, on_keys.hexdigest(),
                                        source_digest("pipeline.classify")))
    del on_texts
    timings["subtopics"] = round(time.perf_counter() - t3, 4)
    t4 = time.perf_counter()
    quotes_all = pq.read_table(dest / QUOTES.file)
    orgs_all = pa.concat_tables(org_entities) if org_entities else None
    actors = actors_table(quotes_all, orgs_all)
    gexf = network_gexf(actors)
    del quotes_all
    timings["actors"] = round(time.perf_counter() - t4, 4)
    try:
        for spec, table in ((TOPICS, topics_t), (TOPIC_TERMS, terms), (ACTORS, actors)):
            write_table(spec, table, dest)
            tables[spec.name] = {"file": spec.file, "rows": table.num_rows}
        atomic_write(dest / NETWORK, lambda tmp: tmp.write_bytes(gexf))
    except OSError as exc:
        raise OutputError(f"cannot write tables to {out}: {exc.strerror or exc}") from exc
    tables["network"] = {"file": NETWORK, "nodes_actors": actors.num_rows}
    if not params.run.cache:
        shutil.rmtree(root, ignore_errors=True)

    counts = {
        "articles": n_articles,
        "entities": n_ent,
        "quotes": n_quotes,
        "quotes_by_kind": {k: kinds.get(k, 0) for k in ("direct", "mixed", "indirect")},
        "quotes_with_speaker": n_speaker,
        "on_topic": len(on_ids),
        "stance": {s: stances.get(s, 0) for s in STANCE_LABELS},
        "quotes_with_stance": n_qstance,
        "subtopics": len(set(terms.column("topic_id").to_pylist())),
        "actors": actors.num_rows,
    }
    cache = {
        "enabled": params.run.cache,
        "folder": str(root) if params.run.cache else None,
        "extract_version": versions.extract,
        "classify_version": versions.classify,
        "extract_hits": n_articles - n_missing_extract,
        "classify_hits": n_articles - n_missing,
        "parsed": n_missing_extract,      # articles parsed by this run
        "classified": n_missing,          # articles classified by this run
        "unreadable_parts": xstore.unreadable_parts + cstore.unreadable_parts,
        "bytes_by_version": folder_sizes(root) if params.run.cache else {},
    }
    return ExtractOutcome(counts, tables, timings, cache, engine_info)


def _subtopics(root: Path | None, ids: list[str], texts: list[str], params: Params,
               key: str) -> tuple[pa.Table, pa.Table]:
    """The subtopic tables, from the cache when the same on-topic articles were modelled before."""
    folder = root / f"subtopics-{key}" if root is not None else None
    if folder is not None and folder.is_dir():
        remove_stale_temp_files(folder)  # an entry a killed run was writing
    if folder is not None and (folder / TOPIC_TERMS.file).is_file():
        try:
            return (pq.read_table(folder / TOPICS.file).cast(TOPICS.schema),
                    pq.read_table(folder / TOPIC_TERMS.file).cast(TOPIC_TERMS.schema))
        except (OSError, pa.ArrowException):
            pass  # unreadable: recompute and rewrite
    topics, terms = subtopic_tables(ids, texts, params.subtopics)
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_table(TOPICS, topics, folder)
            write_table(TOPIC_TERMS, terms, folder)  # written last: its presence marks a whole entry
        except OSError:
            pass  # a cache that cannot be written only costs time
    return topics, terms


def check_articles(path: Path) -> None:
    """Refuse an articles.parquet this version cannot read."""
    if not path.is_file():
        raise OutputError(f"{path} does not exist: run `frstance ingest --out {path.parent}` first")
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from exc
    if not schema.equals(ARTICLES.schema, check_metadata=False):
        raise OutputError(f"{path} does not have the articles schema of this frstance version")
