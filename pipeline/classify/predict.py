"""The classification stage: articles -> predictions; quotes -> quotes with their stance."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.classify.explain import top_terms
from pipeline.classify.features import LEAD_CHARS, feature_frame, quote_frame
from pipeline.classify.labels import ON_TOPIC
from pipeline.classify.model_store import Classifier
from pipeline.schemas import PREDICTIONS, QUOTES, STANCE_LABELS


def _stance_columns(proba: np.ndarray, classes: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {f"p_{c}": proba[:, classes.index(c)] for c in STANCE_LABELS}


def predict_frame(clf: Classifier, frame, top_k: int = 0) -> dict[str, list]:
    """Topic and stance for every row of a feature frame (stance null when off-topic)."""
    n = len(frame)
    if n == 0:
        return {k: [] for k in ("topic", "p_topic", "stance", "p_ban", "p_oversight", "p_neutral",
                                "top_features")}
    tp = clf.topic.predict_proba(frame)
    on = clf.topic_classes.index(ON_TOPIC)
    p_topic = tp[:, on]
    topic_idx = tp.argmax(axis=1)
    topics = [clf.topic_classes[i] for i in topic_idx]
    is_on = np.array([t == ON_TOPIC for t in topics])
    on_rows, off_rows = np.flatnonzero(is_on), np.flatnonzero(~is_on)
    # Stance is only reported for on-topic rows, so only they go through the stance model
    # (each row's probabilities depend on that row alone).
    stance: list = [None] * n
    cols: dict[str, list] = {f"p_{c}": [None] * n for c in STANCE_LABELS}
    stance_idx = np.zeros(0, dtype=int)
    if len(on_rows):
        sp = clf.stance.predict_proba(frame.iloc[on_rows])
        stance_idx = sp.argmax(axis=1)
        probs = _stance_columns(sp, clf.stance_classes)
        for j, i in enumerate(on_rows):
            stance[i] = clf.stance_classes[stance_idx[j]]
            for k, v in probs.items():
                cols[k][i] = float(v[j])
    out = {
        "topic": topics,
        "p_topic": p_topic.astype(float).tolist(),
        "stance": stance,
        **cols,
    }
    terms: list[list[str]] = [[] for _ in range(n)]
    if top_k:  # the stance decision's terms for on-topic rows, the topic decision's for the others
        for rows, model, idx in ((on_rows, clf.stance, stance_idx), (off_rows, clf.topic, topic_idx[off_rows])):
            if len(rows):
                for i, t in zip(rows, top_terms(model, frame.iloc[rows], idx, top_k)):
                    terms[i] = t
    out["top_features"] = terms
    return out


def predictions_table(articles: pa.Table, clf: Classifier, top_k: int, lead_chars: int = LEAD_CHARS) -> pa.Table:
    frame = feature_frame(articles.column("text").to_pylist(), articles.column("title").to_pylist(), lead_chars)
    pred = predict_frame(clf, frame, top_k)
    n = articles.num_rows
    return PREDICTIONS.from_rows(
        {"article_id": aid, "model_version": clf.version, **{k: v[i] for k, v in pred.items()}}
        for i, aid in enumerate(articles.column("article_id").to_pylist())
    ) if n else PREDICTIONS.from_rows([])


def quotes_with_stance(quotes: pa.Table, predictions: pa.Table, clf: Classifier,
                       lead_chars: int = LEAD_CHARS) -> pa.Table:
    """quotes.parquet rows with stance and probabilities for quotes in on-topic articles."""
    rows = quotes.to_pylist()
    on_topic = {a for a, t in zip(predictions.column("article_id").to_pylist(),
                                  predictions.column("topic").to_pylist()) if t == ON_TOPIC}
    pick = [i for i, r in enumerate(rows) if r["article_id"] in on_topic]
    if pick:
        frame = quote_frame([rows[i]["content"] for i in pick], lead_chars)
        proba = clf.stance.predict_proba(frame)
        cols = _stance_columns(proba, clf.stance_classes)
        for j, i in enumerate(pick):
            rows[i]["stance"] = clf.stance_classes[int(proba[j].argmax())]
            for k, v in cols.items():
                rows[i][k] = float(v[j])
            rows[i]["stance_model_version"] = clf.version
    return QUOTES.from_rows(rows)
