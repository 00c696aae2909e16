"""The candidate classifiers, as scikit-learn Pipelines over the feature frame.

``ngram_lr`` is the classical recipe (logistic regression on word and character n-grams,
the SemEval-2016 stance baseline); the others add the headline as its own view, a linear
SVM, sentence embeddings (RBF SVM), the guideline cues (:mod:`pipeline.classify.cues`) and
a soft vote of n-grams and embeddings. Training
compares them by grouped cross-validation and keeps the best by macro-F1; whichever wins
is then wrapped in probability calibration (:func:`calibrated`).
"""

from __future__ import annotations

import warnings
from typing import Callable

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, LinearSVC

from pipeline.classify.cues import GuidelineCues
from pipeline.classify.features import EMBEDDING_COLUMNS

warnings.filterwarnings("ignore", message="The `probability` parameter was deprecated",
                        category=FutureWarning)


def _words() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, lowercase=True)


def _chars() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)


def _ngrams(headline: bool, cues: bool = False) -> ColumnTransformer:
    views = [("words", _words(), "text"), ("chars", _chars(), "text")]
    if headline:
        views.append(("headline", _words(), "title"))
    if cues:
        views.append(_cues_view())
    return ColumnTransformer(views)


def _cues_view() -> tuple:
    return ("cues", GuidelineCues(), ["title", "text"])


def _lr(C: float = 10.0) -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000)


def ngram_lr(seed: int) -> Pipeline:
    return Pipeline([("features", _ngrams(headline=False)), ("clf", _lr())])


def ngram_svm(seed: int) -> Pipeline:
    return Pipeline([("features", _ngrams(headline=False)),
                     ("clf", LinearSVC(C=0.5, class_weight="balanced", random_state=seed))])


def headline_lr(seed: int) -> Pipeline:
    return Pipeline([("features", _ngrams(headline=True)), ("clf", _lr())])


def cues_lr(seed: int) -> Pipeline:
    return Pipeline([("features", ColumnTransformer([_cues_view()])), ("clf", _lr(C=1.0))])


def headline_cues_lr(seed: int) -> Pipeline:
    return Pipeline([("features", _ngrams(headline=True, cues=True)), ("clf", _lr())])


def embedding_svm(seed: int) -> Pipeline:
    return Pipeline([
        ("features", ColumnTransformer([("embedding", "passthrough", EMBEDDING_COLUMNS)])),
        # libsvm's own probabilities (pairwise coupling of one-vs-one Platt models) vote better
        # than sklearn's one-vs-rest calibration of an SVC (grouped CV stance macro-F1 .80 vs
        # .79, dev .72 vs .58); scikit-learn 1.9 deprecates the flag but keeps it until 1.11,
        # and frstance pins scikit-learn to 1.9 because the shipped model is a 1.9 pickle.
        ("clf", SVC(C=3.0, kernel="rbf", probability=True, class_weight="balanced", random_state=seed)),
    ])


def ensemble(seed: int) -> VotingClassifier:
    return VotingClassifier([("ngrams", headline_lr(seed)), ("embedding", embedding_svm(seed))],
                            voting="soft")


def ensemble_emb2(seed: int) -> VotingClassifier:
    return VotingClassifier([("ngrams", headline_lr(seed)), ("embedding", embedding_svm(seed))],
                            voting="soft", weights=[1, 2])


def ensemble_cues(seed: int) -> VotingClassifier:
    return VotingClassifier([("ngrams", headline_cues_lr(seed)), ("embedding", embedding_svm(seed))],
                            voting="soft", weights=[1, 2])


RECIPES: dict[str, Callable[[int], object]] = {
    "ngram_lr": ngram_lr,
    "ngram_svm": ngram_svm,
    "headline_lr": headline_lr,
    "embedding_svm": embedding_svm,
    "ensemble": ensemble,
    "ensemble_emb2": ensemble_emb2,
    "cues_lr": cues_lr,
    "headline_cues_lr": headline_cues_lr,
    "ensemble_cues": ensemble_cues,
}

DESCRIPTIONS = {
    "ngram_lr": "logistic regression on word 1-2-grams and character 2-5-grams (the classical baseline)",
    "ngram_svm": "linear SVM on word 1-2-grams and character 2-5-grams",
    "headline_lr": "logistic regression on word and character n-grams plus the headline's word n-grams",
    "embedding_svm": "RBF SVM on MiniLM sentence embeddings of the text and of the headline",
    "ensemble": "soft vote of headline_lr and embedding_svm",
    "ensemble_emb2": "soft vote of headline_lr and embedding_svm, the embeddings weighted twice",
    "cues_lr": "logistic regression on guideline cues alone (seven word families of the stance "
               "guidelines, counted in the headline and in the body)",
    "headline_cues_lr": "headline_lr plus the guideline cues",
    "ensemble_cues": "soft vote of headline_cues_lr and embedding_svm, the embeddings weighted twice",
}


def calibrated(recipe: str, seed: int, splits: list) -> CalibratedClassifierCV:
    """The recipe with temperature-scaled probabilities fitted on out-of-fold predictions of
    ``splits`` (grouped folds), then refitted once on all the data (``ensemble=False``)."""
    return CalibratedClassifierCV(RECIPES[recipe](seed), method="temperature", cv=splits, ensemble=False)
