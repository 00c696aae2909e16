"""Subtopics of the on-topic articles: NMF over TF-IDF word 1-2-grams, seeded and stable.

NNDSVD initialisation is deterministic (no random start), the solver is coordinate
descent with a fixed seed, and articles are taken in article_id order, so the same
articles and params give the same subtopics whatever order the inputs came in. Words
every article of this corpus shares (the topic's own name) are dropped as stop words, so
subtopics say what distinguishes articles, not what they all are about.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.config import SubtopicsParams
from pipeline.schemas import TOPIC_TERMS, TOPICS

MIN_WEIGHT = 0.05
TOPIC_WORDS = frozenset({"facial", "face", "recognition", "technology", "tech", "said", "says", "new"})


def subtopic_tables(article_ids: list[str], texts: list[str], params: SubtopicsParams) -> tuple[pa.Table, pa.Table]:
    """(topics, topic_terms) for the given on-topic articles; empty tables when too few."""
    order = sorted(range(len(article_ids)), key=lambda i: article_ids[i])
    ids = [article_ids[i] for i in order]
    docs = [texts[i] for i in order]
    empty = TOPICS.from_rows([]), TOPIC_TERMS.from_rows([])
    if len(docs) < 2:
        return empty
    # imported here, not with the module: a fully cached run never fits subtopics
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=min(params.min_df, len(docs)), max_df=0.9,
                          sublinear_tf=True, stop_words=sorted(ENGLISH_STOP_WORDS | TOPIC_WORDS),
                          token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b")
    try:
        X = vec.fit_transform(docs)
    except ValueError:  # no term survives min_df / max_df
        return empty
    k = min(params.n_topics, X.shape[0], X.shape[1])
    if k < 1:
        return empty
    nmf = NMF(n_components=k, init="nndsvd", solver="cd", random_state=params.seed, max_iter=1000)
    W = nmf.fit_transform(X)
    H = nmf.components_
    terms = vec.get_feature_names_out()
    term_rows = []
    for t in range(k):
        top = np.lexsort((terms, -H[t]))[: params.top_terms]
        for rank, j in enumerate(top, start=1):
            if H[t, j] > 0:
                term_rows.append({"topic_id": t, "rank": rank, "term": str(terms[j]),
                                  "weight": round(float(H[t, j]), 6)})
    topic_rows = []
    for i, aid in enumerate(ids):
        total = W[i].sum()
        if total <= 0:
            continue
        for t in range(k):
            w = W[i, t] / total
            if w >= MIN_WEIGHT:
                topic_rows.append({"article_id": aid, "topic_id": t, "weight": round(float(w), 6)})
    return TOPICS.from_rows(topic_rows), TOPIC_TERMS.from_rows(term_rows)
