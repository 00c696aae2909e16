"""Classification metrics with honest uncertainty.

Expected calibration error is the top-label ECE over equal-width confidence bins. The 95%
intervals come from a bootstrap over story *groups* (labels.csv's ``group``): items of one
story are not independent, so resampling items would make the intervals too narrow.

ECE is biased upwards on small samples: even probabilities that are exactly right show an ECE
well above zero on a hundred items, because each bin's accuracy is a small-sample estimate.
:func:`ece_if_calibrated` measures that floor for the probabilities at hand, so an observed ECE
can be read against what perfect calibration would show on the same items.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

ECE_BINS = 10


def expected_calibration_error(proba: np.ndarray, y_true: Sequence[str], classes: Sequence[str],
                               bins: int = ECE_BINS) -> float:
    proba = np.asarray(proba, dtype=float)
    if len(proba) == 0:
        return float("nan")
    classes = np.asarray(classes)
    conf = proba.max(axis=1)
    correct = classes[proba.argmax(axis=1)] == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def ece_if_calibrated(proba: np.ndarray, classes: Sequence[str], observed: float | None = None,
                      draws: int = 1000, seed: int = 0) -> dict:
    """The ECE these probabilities would show if they were exactly right: labels drawn from the
    probabilities themselves, ``draws`` times. Returns the median and 95% range of those ECEs
    and, given the observed ECE, the share of draws at least as large (a one-sided p-value for
    "these probabilities are calibrated")."""
    proba = np.asarray(proba, dtype=float)
    if len(proba) == 0:
        return {}
    classes = np.asarray(classes)
    cum = np.cumsum(proba / proba.sum(axis=1, keepdims=True), axis=1)
    rng = np.random.default_rng(seed)
    sims = np.empty(draws)
    for i in range(draws):
        u = rng.random(len(proba))[:, None]
        drawn = classes[np.minimum((cum < u).sum(axis=1), len(classes) - 1)]
        sims[i] = expected_calibration_error(proba, drawn, classes)
    out = {"draws": int(draws), "median": float(np.median(sims)),
           "range95": [float(np.percentile(sims, 2.5)), float(np.percentile(sims, 97.5))]}
    if observed is not None:
        out["share_at_least_observed"] = float(np.mean(sims >= observed - 1e-12))
    return out


def reliability_bins(proba: np.ndarray, y_true: Sequence[str], classes: Sequence[str],
                     bins: int = ECE_BINS) -> list[dict]:
    """Per confidence bin: count, mean confidence, accuracy (for calibration curves)."""
    proba = np.asarray(proba, dtype=float)
    classes = np.asarray(classes)
    conf = proba.max(axis=1) if len(proba) else np.zeros(0)
    correct = classes[proba.argmax(axis=1)] == np.asarray(y_true) if len(proba) else np.zeros(0, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        out.append({"low": float(edges[b]), "high": float(edges[b + 1]), "n": int(m.sum()),
                    "confidence": float(conf[m].mean()) if m.any() else None,
                    "accuracy": float(correct[m].mean()) if m.any() else None})
    return out


def _point(y_true, y_pred, proba, classes, positive: str | None) -> dict[str, float]:
    out = {"macro_f1": float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
           "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
           "ece": expected_calibration_error(proba, y_true, classes)}
    if positive is not None:
        out["f1"] = float(f1_score(y_true, y_pred, labels=[positive], average="macro", zero_division=0))
    return out


def evaluate(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], groups: Sequence[str],
             *, positive: str | None = None, n_boot: int = 1000, seed: int = 0) -> dict:
    """Everything ``metrics.json`` holds for one task."""
    classes = list(classes)
    y_true = np.asarray(y_true, dtype=object)
    proba = np.asarray(proba, dtype=float)
    y_pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)] if len(proba) else np.zeros(0, object)
    point = _point(y_true, y_pred, proba, classes, positive)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    per_class = {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                 for i, c in enumerate(classes)}
    intervals = bootstrap_intervals(y_true, y_pred, proba, classes, groups, positive, n_boot, seed)
    return {
        "n": int(len(y_true)),
        **point,
        "ci95": intervals,
        "per_class": per_class,
        "confusion_matrix": {"labels": classes,
                             "rows_true_cols_pred": confusion_matrix(y_true, y_pred, labels=classes).tolist()},
        "calibration_bins": reliability_bins(proba, y_true, classes),
        "ece_if_calibrated": ece_if_calibrated(proba, classes, point["ece"], seed=seed),
        **largest_group(y_true, y_pred, proba, classes, groups, positive),
    }


def largest_group(y_true, y_pred, proba, classes, groups, positive) -> dict:
    """The split's largest story on its own, and the figures without it: a clustered split's
    metrics can be mostly one story's, and this says how much."""
    groups = np.asarray(groups, dtype=object)
    if len(set(groups)) < 2:
        return {}
    names, counts = np.unique(groups, return_counts=True)
    top = names[np.argmax(counts)]  # np.unique sorts, so ties go to the first name
    m = groups == top
    conf = proba[m].max(axis=1)
    return {
        "largest_group": {"group": str(top), "n": int(m.sum()), "share": float(m.mean()),
                          "labels": {str(k): int(v) for k, v in zip(*np.unique(y_true[m], return_counts=True))},
                          "accuracy": float(np.mean(y_true[m] == y_pred[m])),
                          "mean_confidence": float(conf.mean())},
        "without_largest_group": {"n": int((~m).sum()),
                                  **_point(y_true[~m], y_pred[~m], proba[~m], classes, positive)},
    }


def bootstrap_intervals(y_true, y_pred, proba, classes, groups, positive, n_boot: int, seed: int) -> dict:
    if n_boot <= 0 or len(y_true) == 0:
        return {}
    groups = np.asarray(groups, dtype=object)
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[g] for g in pick])
        for k, v in _point(y_true[idx], y_pred[idx], proba[idx], classes, positive).items():
            draws.setdefault(k, []).append(v)
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in draws.items()}
