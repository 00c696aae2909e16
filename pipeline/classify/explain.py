"""Which terms pushed a decision: per-row contributions of the n-gram linear model.

For the predicted class k, a term's contribution is its TF-IDF value times (weight for k
minus the mean weight over classes); the strongest positive ones are listed. Word n-grams
are shown (of the text, and of the headline as ``headline: ...``) and so are the guideline
cue families, with the words of the item that made them (``cue: halt words in headline
(shuts down)``); character n-grams also vote but are not readable evidence, and terms made
only of stop words are skipped. The embedding half of an ensemble has no
term-level explanation, so the list explains the n-gram half's part of the decision.
"""

from __future__ import annotations

import weakref
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.pipeline import Pipeline

from pipeline.classify.cues import explained

_READABLE = {"words": "", "headline": "headline: ", "cues": "cue: "}


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
            # a readable view among its transformers (names only: listing every feature, the
            # character n-grams included, costs about 90 ms)
            if any(name in _READABLE for name, _, _ in est.named_steps["features"].transformers_):
                return est
    return None


class _Readable:
    """What top_terms needs from one fitted n-gram Pipeline, computed once per model: the
    readable views' transformers, their columns' offsets in the model's feature space, the
    term labels, which terms may be shown, and the per-class weights."""

    def __init__(self, part: Pipeline) -> None:
        features, clf = part.named_steps["features"], part.named_steps["clf"]
        self.views = []  # (transformer, input column, offset into the full feature vector, labels, keep)
        for name, trans, column in features.transformers_:
            if name not in _READABLE:
                continue
            terms = np.asarray(trans.get_feature_names_out(), dtype=object)
            labels = np.array([_READABLE[name] + t for t in terms], dtype=object)
            # not terms made of stop words alone ("of", "and it")
            keep = np.array([not all(w in ENGLISH_STOP_WORDS for w in t.split()) for t in terms], dtype=bool)
            self.views.append((trans, column, features.output_indices_[name].start, labels, keep))
        coef = np.asarray(clf.coef_, dtype=float)
        if coef.shape[0] == 1:  # binary: coef_ is for classes_[1]
            self.weights = np.vstack([-coef[0], coef[0]])
        else:
            self.weights = coef - coef.mean(axis=0, keepdims=True)


_CACHE: "weakref.WeakKeyDictionary[Any, _Readable | None]" = weakref.WeakKeyDictionary()


def _readable(model: Any) -> _Readable | None:
    """``model``'s n-gram part prepared for top_terms (None without one), once per model."""
    if model not in _CACHE:
        part = ngram_part(model)
        _CACHE[model] = _Readable(part) if part is not None else None
    return _CACHE[model]


def top_terms(model: Any, frame: pd.DataFrame, predicted: Sequence[int], k: int) -> list[list[str]]:
    """For each row, up to ``k`` readable terms that pushed it towards class ``predicted[row]``."""
    r = _readable(model) if k > 0 and len(frame) else None
    if r is None:
        return [[] for _ in range(len(frame))]
    # Only the readable views are transformed (the character n-grams, the costly part, are not shown).
    blocks = [(trans.transform(frame[column]).tocsr(), offset, labels, keep)
              for trans, column, offset, labels, keep in r.views]
    out = []
    for row, cls in enumerate(predicted):
        labs, contribs = [], []
        for X, offset, labels, keep in blocks:
            start, end = X.indptr[row], X.indptr[row + 1]
            cols, vals = X.indices[start:end], X.data[start:end]
            mask = keep[cols]
            cols, vals = cols[mask], vals[mask]
            labs.append(labels[cols])
            contribs.append(vals * r.weights[int(cls), offset + cols])
        lab = np.concatenate(labs) if labs else np.zeros(0, dtype=object)
        contrib = np.concatenate(contribs) if contribs else np.zeros(0)
        order = np.lexsort((lab, -contrib))  # strongest first, ties by term
        shown = [lab[i] for i in order if contrib[i] > 0][:k]
        out.append([_with_words(t, frame, row) for t in shown])
    return out


def _with_words(term: str, frame: pd.DataFrame, row: int) -> str:
    """A cue family's label gets the words of this row that made it."""
    if not term.startswith(_READABLE["cues"]):
        return term
    name = term[len(_READABLE["cues"]):]
    return _READABLE["cues"] + explained(name, frame["title"].iloc[row], frame["text"].iloc[row])
