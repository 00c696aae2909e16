"""Which terms pushed a decision: per-row contributions of the n-gram linear model.

For the predicted class k, a term's contribution is its TF-IDF value times (weight for k
minus the mean weight over classes); the strongest positive ones are listed. Only word
n-grams are shown (of the text, and of the headline as ``headline: ...``); character
n-grams also vote but are not readable evidence, and terms made only of stop words are
skipped. The embedding half of an ensemble has no
term-level explanation, so the list explains the n-gram half's part of the decision.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.pipeline import Pipeline

_READABLE = {"words": "", "headline": "headline: "}


def _fitted_base(model: Any) -> Any:
    if isinstance(model, CalibratedClassifierCV):
        return model.calibrated_classifiers_[0].estimator
    return model


def ngram_part(model: Any) -> Pipeline | None:
    """The fitted (features, linear clf) Pipeline inside ``model``, if it has one."""
    base = _fitted_base(model)
    candidates = list(base.named_estimators_.values()) if isinstance(base, VotingClassifier) else [base]
    for est in candidates:
        if isinstance(est, Pipeline) and hasattr(est.named_steps.get("clf"), "coef_"):
            names = est.named_steps["features"].get_feature_names_out()
            if any(n.split("__", 1)[0] in _READABLE for n in names):
                return est
    return None


def top_terms(model: Any, frame: pd.DataFrame, predicted: Sequence[int], k: int) -> list[list[str]]:
    """For each row, up to ``k`` readable terms that pushed it towards class ``predicted[row]``."""
    part = ngram_part(model) if k > 0 else None
    if part is None or len(frame) == 0:
        return [[] for _ in range(len(frame))]
    features, clf = part.named_steps["features"], part.named_steps["clf"]
    names = features.get_feature_names_out()
    view = np.array([n.split("__", 1)[0] for n in names])
    # Readable views only, and not terms made of stop words alone ("of", "and it").
    keep = np.isin(view, list(_READABLE)) & np.array(
        [not all(w in ENGLISH_STOP_WORDS for w in n.split("__", 1)[-1].split()) for n in names])
    labels = np.array([_READABLE.get(v, "") + n.split("__", 1)[-1] for v, n in zip(view, names)], dtype=object)
    X = features.transform(frame).tocsr()
    coef = np.asarray(clf.coef_, dtype=float)
    if coef.shape[0] == 1:  # binary: coef_ is for classes_[1]
        weights = np.vstack([-coef[0], coef[0]])
    else:
        weights = coef - coef.mean(axis=0, keepdims=True)
    out = []
    for row, cls in enumerate(predicted):
        start, end = X.indptr[row], X.indptr[row + 1]
        cols, vals = X.indices[start:end], X.data[start:end]
        mask = keep[cols]
        cols, vals = cols[mask], vals[mask]
        contrib = vals * weights[int(cls), cols]
        order = np.lexsort((labels[cols], -contrib))  # strongest first, ties by term
        terms = [labels[cols[i]] for i in order if contrib[i] > 0][:k]
        out.append(terms)
    return out
