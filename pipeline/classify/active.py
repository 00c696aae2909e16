"""`frstance label`: the unlabelled articles a person should label next.

Uncertainty first: an article's score is the larger of its topic uncertainty (binary
entropy of p_topic) and, when on-topic, its stance uncertainty (entropy of the three
stance probabilities over log 3). Diversity second: the 5 x n most uncertain articles are
clustered (k-means on TF-IDF, seeded) into n groups and the most uncertain article of
each group is taken, so the list is not fifty copies of one syndicated story. Near-duplicates
(``duplicate_of`` set) are skipped: labelling the original labels the story; so are articles
without a URL, since label files identify articles by URL.

The CSV has the label columns first, empty, for the person to fill in (``url`` is
filled), then the article and the model's current guess as context; `frstance train
--labels labels.csv to_label.csv` reads it (unfilled rows are skipped).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.classify.labels import read_label_files
from pipeline.config import Params
from pipeline.ingest.normalize import canonical_url
from pipeline.schemas import ARTICLES, PREDICTIONS
from pipeline.store import OutputError, atomic_write

LABEL_COLUMNS = ("url", "topic", "stance", "split", "group")
CONTEXT_COLUMNS = ("article_id", "title", "text", "published", "provider", "predicted_topic", "p_topic",
                   "predicted_stance", "p_ban", "p_oversight", "p_neutral", "uncertainty")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A spreadsheet must not run a cell as a formula: prefix such strings with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


def uncertainty(pred: pd.DataFrame) -> np.ndarray:
    pt = pred["p_topic"].to_numpy(dtype=float)
    topic_u = _entropy(np.column_stack([pt, 1 - pt])) / np.log(2)
    stance = pred[["p_ban", "p_oversight", "p_neutral"]].to_numpy(dtype=float)
    on = ~np.isnan(stance).any(axis=1)
    stance_u = np.zeros(len(pred))
    if on.any():
        stance_u[on] = _entropy(stance[on]) / np.log(3)
    return np.maximum(topic_u, stance_u)


def pick(texts: Sequence[str], scores: np.ndarray, n: int, seed: int = 0) -> list[int]:
    """Indices of n diverse, uncertain items (most uncertain first)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    if len(order) <= n:
        return [int(i) for i in order]
    pool = order[: min(len(order), 5 * n)]
    X = TfidfVectorizer(sublinear_tf=True, min_df=1, stop_words="english").fit_transform(
        [texts[i] for i in pool])
    clusters = KMeans(n_clusters=n, random_state=seed, n_init=10).fit_predict(X)
    chosen = {}
    for rank, (i, c) in enumerate(zip(pool, clusters)):
        chosen.setdefault(int(c), int(i))  # pool is sorted: the first member is the most uncertain
    picked = sorted(chosen.values(), key=lambda i: (-scores[i], i))
    return picked


def select_to_label(results: Path, n: int, out: Path, label_files: Sequence[str], params: Params) -> int:
    import pyarrow.parquet as pq

    paths = {spec.name: results / spec.file for spec in (ARTICLES, PREDICTIONS)}
    for name, path in paths.items():
        if not path.is_file():
            raise OutputError(f"{path} does not exist: run `frstance run --out {results}` first")
    arts = pq.read_table(paths["articles"], columns=["article_id", "url", "canonical_url", "urls", "title",
                                                      "text", "published", "provider", "duplicate_of"]).to_pandas()
    pred = pq.read_table(paths["predictions"]).to_pandas()
    df = arts.merge(pred, on="article_id", how="inner").sort_values("article_id", kind="stable")
    labelled, _ = read_label_files(label_files) if label_files else ({}, {})
    done = set()
    for u in labelled:
        done.add(u)
        c = canonical_url(u, params.ingest.tracking_params)
        if c:
            done.add(c)
    is_done = df.apply(lambda r: bool(done & ({r.canonical_url} | set(r.urls))), axis=1) if done else False
    has_url = df["url"].notna() | df["canonical_url"].notna()  # labels are joined by URL
    df = df[~np.asarray(is_done, dtype=bool) & df["duplicate_of"].isna() & has_url].reset_index(drop=True)
    scores = uncertainty(df) if len(df) else np.zeros(0)
    chosen = pick(df["text"].tolist(), scores, n, params.classify.seed) if len(df) else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LABEL_COLUMNS + CONTEXT_COLUMNS)
    for i in chosen:
        r = df.iloc[i]
        w.writerow([r.url or r.canonical_url or "", "", "", "train", ""] + [safe_cell(v) for v in (
            r.article_id, r.title or "", r.text, "" if pd.isna(r.published) else r.published.isoformat(),
            r.provider or "", r.topic, f"{r.p_topic:.3f}", r.stance or "",
            *("" if pd.isna(r[c]) else f"{r[c]:.3f}" for c in ("p_ban", "p_oversight", "p_neutral")),
            f"{scores[i]:.3f}")])
    data = buf.getvalue().encode("utf-8")
    atomic_write(out, lambda tmp: tmp.write_bytes(data))
    return len(chosen)
