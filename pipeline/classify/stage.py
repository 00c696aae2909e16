"""The classification stage as one function from tables to tables."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow as pa

from pipeline.classify.labels import ON_TOPIC
from pipeline.classify.model_store import Classifier
from pipeline.classify.predict import predictions_table, quotes_with_stance
from pipeline.classify.subtopics import subtopic_tables
from pipeline.config import ClassifyParams, Params


@dataclass
class ClassifyResult:
    predictions: pa.Table
    quotes: pa.Table
    topics: pa.Table
    topic_terms: pa.Table
    counts: dict
    timings: dict = field(default_factory=dict)


def label_chunk(articles: pa.Table, quotes: pa.Table, clf: Classifier, params: ClassifyParams
                ) -> tuple[pa.Table, pa.Table, dict]:
    """Per-article work (predictions, quote stance): any split of the articles gives the same rows."""
    t0 = time.perf_counter()
    predictions = predictions_table(articles, clf, params.top_features, params.lead_chars)
    t1 = time.perf_counter()
    quotes = quotes_with_stance(quotes, predictions, clf, params.lead_chars)
    t2 = time.perf_counter()
    return predictions, quotes, {"classify_articles": round(t1 - t0, 4), "classify_quotes": round(t2 - t1, 4)}


def corpus_tables(articles: pa.Table, predictions: pa.Table, quotes: pa.Table, params: Params,
                  timings: dict | None = None) -> ClassifyResult:
    """Corpus-level work over all articles at once (subtopics), and the stage's counts."""
    t2 = time.perf_counter()
    on = {a for a, t in zip(predictions.column("article_id").to_pylist(),
                            predictions.column("topic").to_pylist()) if t == ON_TOPIC}
    ids = [a for a in articles.column("article_id").to_pylist() if a in on]
    text_of = dict(zip(articles.column("article_id").to_pylist(), articles.column("text").to_pylist()))
    topics, terms = subtopic_tables(ids, [text_of[a] for a in ids], params.subtopics)
    t3 = time.perf_counter()
    stances = predictions.column("stance").to_pylist()
    counts = {
        "on_topic": len(on),
        "stance": {s: stances.count(s) for s in ("ban", "oversight", "neutral")},
        "quotes_with_stance": sum(1 for s in quotes.column("stance").to_pylist() if s is not None),
        "subtopics": len(set(terms.column("topic_id").to_pylist())),
    }
    return ClassifyResult(predictions, quotes, topics, terms, counts,
                          {**(timings or {}), "subtopics": round(t3 - t2, 4)})


def classify_tables(articles: pa.Table, quotes: pa.Table, clf: Classifier, params: Params) -> ClassifyResult:
    predictions, quotes, timings = label_chunk(articles, quotes, clf, params.classify)
    return corpus_tables(articles, predictions, quotes, params, timings)
