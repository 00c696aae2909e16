"""Topic and stance accuracy figures beyond the model card: nested grouped cross-validation.

Prints, for each recipe given (default: the classical ngram_lr baseline and the shipped
ensemble), out-of-fold macro-F1 and expected calibration error over train + dev: outer folds
grouped by story, and inside each outer fold the same calibration `frstance train` does
(temperature scaling on inner grouped folds). The dev part of those out-of-fold predictions
is shown apart, since dev is clustered. For a soft vote, accuracy against mean confidence
where its members agree and where they disagree. Then the shipped model's own dev figures.

    python benchmarks/stance.py [--recipes ngram_lr,ensemble_cues] [--folds 5]

Reads ../shared/corpus (or $FRSTANCE_SHARED). Takes about 5 minutes per recipe on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.classify import model_store, train as T  # noqa: E402
from pipeline.classify.metrics import expected_calibration_error  # noqa: E402
from pipeline.classify.recipes import calibrated  # noqa: E402
from pipeline.config import Params  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402


def _components_disagree(model, X) -> np.ndarray:
    """For a calibrated soft vote: whether its members' top classes differ, per row."""
    inner = model.calibrated_classifiers_[0].estimator
    members = getattr(inner, "estimators_", None)
    if not members or len(members) < 2:
        return np.zeros(len(X), bool)
    tops = np.stack([m.predict_proba(X).argmax(axis=1) for m in members])
    return (tops != tops[0]).any(axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", default="ngram_lr,ensemble_cues")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--tasks", default="topic,stance")
    args = ap.parse_args()
    shared = Path(os.environ.get("FRSTANCE_SHARED", REPO.parent / "shared"))
    corpus = shared / "corpus"
    params = Params()
    t0 = time.perf_counter()
    labels = T.load_labels([corpus / "labels.csv"], [str(corpus / "items.jsonl"), str(corpus / "records")], params)
    frame = T.with_features(labels.split(["train", "dev"]), params.classify.lead_chars)
    print(f"features for {len(frame)} labelled items in {time.perf_counter() - t0:.0f} s")
    for task in args.tasks.split(","):
        rows = T.task_data(frame, task)
        X, y = T.model_input(rows), T.targets(rows, task)
        groups = np.asarray(rows["group"], dtype=object)
        dev = (rows["split"] == "dev").to_numpy()
        outer = T.grouped_splits(y, groups, args.folds, params.classify.seed)
        for recipe in args.recipes.split(","):
            t = time.perf_counter()
            proba, classes, disagree = None, None, np.zeros(len(y), bool)
            for tr, te in outer:
                inner = T.grouped_splits(y[tr], groups[tr], args.folds, params.classify.seed)
                model = calibrated(recipe, params.classify.seed, inner).fit(X.iloc[tr], y[tr])
                p = model.predict_proba(X.iloc[te])
                if proba is None:
                    proba, classes = np.zeros((len(y), p.shape[1])), np.asarray(model.classes_)
                proba[te] = p
                disagree[te] = _components_disagree(model, X.iloc[te])
            pred = classes[proba.argmax(axis=1)]
            parts = []
            for name, m in (("train+dev", np.ones(len(y), bool)), ("train part", ~dev), ("dev part", dev)):
                f1 = f1_score(y[m], pred[m], average="macro")
                ece = expected_calibration_error(proba[m], y[m], classes)
                fr = (f" F1(facial_recognition) {f1_score(y[m], pred[m], labels=['facial_recognition'], average='macro'):.3f}"
                      if task == "topic" else "")
                parts.append(f"{name} macro-F1 {f1:.3f}{fr} ECE {ece:.3f} (n={m.sum()})")
            print(f"{task:6s} {recipe:14s} " + "; ".join(parts) + f"  [{time.perf_counter() - t:.0f} s]")
            if disagree.any():  # a soft vote: is it calibrated where its members disagree?
                for name, m in (("train part", ~dev), ("dev part", dev)):
                    for what, w in (("members agree", m & ~disagree), ("members disagree", m & disagree)):
                        if w.any():
                            ok = pred[w] == y[w]
                            print(f"{'':22s}{name}, {what}: n={w.sum()}, accuracy {ok.mean():.3f}, "
                                  f"mean confidence {proba[w].max(axis=1).mean():.3f}")
    ev = model_store.read_metadata().get("evaluation") or {}
    if ev:
        s, tp = ev["stance"], ev["topic"]
        print(f"shipped model on {ev['split']}: topic F1 {tp['f1']:.3f} {tp['ci95']['f1']}, stance macro-F1 "
              f"{s['macro_f1']:.3f} {s['ci95']['macro_f1']}, ECE {s['ece']:.3f} {s['ci95']['ece']}")


if __name__ == "__main__":
    main()
