"""`frstance train` and `frstance evaluate`: fit, choose, calibrate, measure, save.

Model choice is by cross-validation on the training split only, folds grouped by story
(``group``) so near-identical items of one story never sit on both sides. The chosen
recipe is then calibrated (temperature scaling on out-of-fold predictions of the same
grouped folds) and refitted on all training items. The dev split, when it is not trained
on, gives the final figures with 95% intervals from a bootstrap over groups.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

from pipeline import __version__
from pipeline.classify import embed, model_store
from pipeline.classify.card import model_card
from pipeline.classify.features import LEAD_CHARS, feature_frame, model_input
from pipeline.classify.labels import ON_TOPIC, Labels, join_labels, read_label_files
from pipeline.classify.metrics import evaluate
from pipeline.classify.recipes import DESCRIPTIONS, RECIPES, calibrated
from pipeline.config import Params
from pipeline.schemas import STANCE_LABELS, TOPIC_LABELS

TASKS = ("topic", "stance")


class TrainError(ValueError):
    """Training cannot go on with what was given (too few labels, a class missing, ...)."""


def ingest_in_memory(inputs: Sequence[str], params: Params) -> pa.Table:
    """The articles table of ``inputs``, exactly as `frstance ingest` builds it, not written."""
    from pipeline.ingest.discover import discover
    from pipeline.run import build_tables, read_files

    discovery = discover(list(inputs), exclude=[], skip_hidden=params.ingest.skip_hidden)
    return build_tables(read_files(discovery.files, params, workers=1), discovery, params).articles


def load_labels(label_files: Sequence[str], inputs: Sequence[str], params: Params) -> Labels:
    rows, counts = read_label_files(label_files)
    if not rows:
        raise TrainError(f"no labelled rows in {', '.join(map(str, label_files))}")
    labels = join_labels(rows, ingest_in_memory(inputs, params), params.ingest.tracking_params, counts)
    if labels.frame.empty:
        raise TrainError("none of the labelled URLs is among the --input articles "
                         f"(e.g. {', '.join(labels.counts['unmatched_examples'][:3])})")
    return labels


def task_data(frame: pd.DataFrame, task: str) -> pd.DataFrame:
    """The rows one task learns from: every item for topic, on-topic items for stance."""
    if task == "topic":
        return frame.reset_index(drop=True)
    return frame[frame["topic"] == ON_TOPIC].reset_index(drop=True)


def targets(rows: pd.DataFrame, task: str) -> np.ndarray:
    return np.asarray(rows[task].astype(str), dtype=object)


def grouped_splits(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> list:
    n_groups = len(set(groups))
    smallest = min(pd.Series(y).value_counts()) if len(y) else 0
    k = min(folds, n_groups, max(smallest, 2))
    if k < 2 or n_groups < 2:
        raise TrainError(f"too few labelled items or groups to cross-validate ({len(y)} items, "
                         f"{n_groups} groups, smallest class {smallest})")
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(y)), y, groups))


def _check_classes(y: np.ndarray, task: str) -> None:
    want = TOPIC_LABELS if task == "topic" else STANCE_LABELS
    missing = [c for c in want if c not in set(y)]
    if missing:
        raise TrainError(f"{task}: no training item labelled {', '.join(missing)}")


def compare(X: pd.DataFrame, y: np.ndarray, groups: np.ndarray, recipes: Sequence[str],
            params: Params, task: str) -> dict[str, dict[str, float]]:
    """Grouped-CV scores of each recipe on the training items."""
    splits = grouped_splits(y, groups, params.classify.cv_folds, params.classify.seed)
    out = {}
    for name in recipes:
        pred = cross_val_predict(RECIPES[name](params.classify.seed), X, y, cv=splits, n_jobs=2)
        scores = {"macro_f1": round(float(f1_score(y, pred, average="macro")), 4)}
        if task == "topic":
            scores["f1"] = round(float(f1_score(y, pred, labels=[ON_TOPIC], average="macro")), 4)
        out[name] = scores
    return out


@dataclass
class TaskModel:
    model: Any
    classes: tuple[str, ...]


def _task_xy(frame: pd.DataFrame, task: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rows = task_data(frame, task)
    y, groups = targets(rows, task), np.asarray(rows["group"], dtype=object)
    _check_classes(y, task)
    return model_input(rows), y, groups


def choose_recipe(frame: pd.DataFrame, task: str, recipes: Sequence[str], params: Params,
                  log=print) -> tuple[str, dict[str, dict[str, float]]]:
    """The recipe with the best grouped-CV macro-F1 on ``frame`` (earlier recipes win ties)."""
    X, y, groups = _task_xy(frame, task)
    cv = compare(X, y, groups, recipes, params, task)
    best = max(recipes, key=lambda r: (cv[r]["macro_f1"], -list(recipes).index(r)))
    log(f"{task}: grouped {params.classify.cv_folds}-fold CV macro-F1 on {len(y)} items: "
        + ", ".join(f"{r} {cv[r]['macro_f1']:.3f}" for r in recipes) + f" -> {best}")
    return best, cv


def fit_task(frame: pd.DataFrame, task: str, recipe: str, params: Params) -> TaskModel:
    """``recipe`` calibrated on grouped out-of-fold predictions, refitted on all of ``frame``."""
    X, y, groups = _task_xy(frame, task)
    splits = grouped_splits(y, groups, params.classify.cv_folds, params.classify.seed)
    model = calibrated(recipe, params.classify.seed, splits).fit(X, y)
    return TaskModel(model=model, classes=tuple(model.classes_))


def fit_classifier(frame: pd.DataFrame, chosen: dict[str, str], params: Params) -> dict[str, Any]:
    fitted = {task: fit_task(frame, task, chosen[task], params) for task in TASKS}
    return {"topic": fitted["topic"].model, "stance": fitted["stance"].model,
            "topic_classes": list(fitted["topic"].classes), "stance_classes": list(fitted["stance"].classes)}


def _as_classifier(bundle: dict[str, Any], version: str = "unsaved") -> model_store.Classifier:
    return model_store.Classifier(bundle["topic"], bundle["stance"], tuple(bundle["topic_classes"]),
                                  tuple(bundle["stance_classes"]), version, {})


def with_features(frame: pd.DataFrame, lead_chars: int = LEAD_CHARS) -> pd.DataFrame:
    feats = feature_frame(frame["text"].tolist(), frame["title"].tolist(), lead_chars)
    meta = frame.drop(columns=["text", "title"]).reset_index(drop=True)
    return pd.concat([meta, feats], axis=1)


def measure(clf: model_store.Classifier, frame: pd.DataFrame, params: Params) -> dict[str, Any]:
    """metrics.json's content for labelled rows (with features): topic on all, stance on on-topic."""
    out: dict[str, Any] = {}
    for task in TASKS:
        rows = task_data(frame, task)
        if rows.empty:
            continue
        model = clf.topic if task == "topic" else clf.stance
        classes = clf.topic_classes if task == "topic" else clf.stance_classes
        proba = model.predict_proba(model_input(rows))
        out[task] = evaluate(targets(rows, task), proba, classes, rows["group"].tolist(),
                             positive=ON_TOPIC if task == "topic" else None,
                             n_boot=params.classify.bootstrap, seed=params.classify.seed)
        out[task]["errors"] = _errors(rows, targets(rows, task), proba, classes)
    return out


def _errors(rows: pd.DataFrame, y: np.ndarray, proba: np.ndarray, classes: Sequence[str], n: int = 25) -> list:
    """The most confident wrong predictions: the errors worth reading first."""
    pred_idx = proba.argmax(axis=1)
    wrong = [i for i in range(len(y)) if classes[pred_idx[i]] != y[i]]
    wrong.sort(key=lambda i: (-proba[i, pred_idx[i]], rows["url"].iloc[i]))
    return [{"url": rows["url"].iloc[i], "title": rows["title"].iloc[i], "group": rows["group"].iloc[i],
             "gold": y[i], "predicted": classes[pred_idx[i]], "confidence": round(float(proba[i, pred_idx[i]]), 4)}
            for i in wrong[:n]]


def train(label_files: Sequence[str], inputs: Sequence[str], model_dir: Path, params: Params, *,
          splits: Iterable[str] = ("train",), select_splits: Iterable[str] = ("train",),
          eval_split: str | None = "dev", recipes: Sequence[str] | None = None, log=print) -> dict[str, Any]:
    """Choose a recipe per task by grouped CV on ``select_splits``; measure it on ``eval_split``
    with a model fitted without that split; fit the saved model on ``splits``."""
    recipes = list(recipes or RECIPES)
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        raise TrainError(f"unknown recipe(s) {', '.join(unknown)}; choose from {', '.join(RECIPES)}")
    splits, select_splits = sorted(set(splits)), sorted(set(select_splits))
    labels = load_labels(label_files, inputs, params)
    present = ", ".join(labels.counts["by_split"]) or "none"
    frame = with_features(labels.split(set(splits) | set(select_splits) | ({eval_split} - {None})),
                          params.classify.lead_chars)
    train_frame = frame[frame["split"].isin(splits)].reset_index(drop=True)
    select_frame = frame[frame["split"].isin(select_splits)].reset_index(drop=True)
    for name, rows, which in (("training", train_frame, splits), ("selection", select_frame, select_splits)):
        if rows.empty:
            raise TrainError(f"no labelled item in {name} split(s) {', '.join(which)} (splits present: {present})")
    log(f"labels: {labels.counts['matched']} matched to articles, {labels.counts['unmatched']} URLs not "
        f"among the inputs; choosing on {', '.join(select_splits)}, training on {', '.join(splits)} "
        f"({len(train_frame)} items)")
    choice = {task: choose_recipe(select_frame, task, recipes, params, log) for task in TASKS}
    chosen = {task: choice[task][0] for task in TASKS}
    evaluation = None
    eval_rows = frame[frame["split"] == eval_split].reset_index(drop=True) if eval_split else frame.iloc[:0]
    if not eval_rows.empty:
        fit_rows = train_frame[train_frame["split"] != eval_split].reset_index(drop=True)
        same = eval_split not in splits
        bundle = fit_classifier(train_frame, chosen, params) if same else fit_classifier(fit_rows, chosen, params)
        measured = measure(_as_classifier(bundle), eval_rows, params)
        for m in measured.values():  # titles and URLs of the corpus stay out of the shipped metadata
            m.pop("errors", None)
        evaluation = {"split": eval_split, "fitted_on": [s for s in splits if s != eval_split], **measured}
        log(f"{eval_split}: topic F1 {evaluation['topic']['f1']:.3f}, stance macro-F1 "
            f"{evaluation['stance']['macro_f1']:.3f}, stance ECE {evaluation['stance']['ece']:.3f}")
        if not same:
            bundle = fit_classifier(train_frame, chosen, params)
    else:
        bundle = fit_classifier(train_frame, chosen, params)
    metadata = {
        "frstance_version": __version__,
        "created_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "training_data_sha256": labels.digest(),
        "label_files": [str(p) for p in label_files],
        "trained_on_splits": splits,
        "selected_on_splits": select_splits,
        "label_counts": _label_counts(labels.frame),
        "label_join": {k: v for k, v in labels.counts.items() if k != "unmatched_examples"},
        "embedding_model": {"id": embed.MODEL_ID, "sha256": embed.MODEL_SHA256, "build": embed.BUILD},
        "recipes": {r: DESCRIPTIONS[r] for r in recipes},
        "cv": {task: {"folds": params.classify.cv_folds, "grouped_by": "group", "splits": select_splits,
                      "scores": choice[task][1], "chosen": chosen[task]} for task in TASKS},
        "calibration": "temperature scaling on out-of-fold predictions of grouped folds",
        "evaluation": evaluation,
        "classes": {"topic": bundle["topic_classes"], "stance": bundle["stance_classes"]},
        "params": {"classify": params.to_dict()["classify"]},
    }
    digest = model_store.save(bundle, Path(model_dir), metadata, model_card(metadata))
    metadata["sha256"] = digest
    log(f"model {digest[:12]} -> {model_dir}")
    return metadata


def _label_counts(frame: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split, rows in frame.groupby("split", sort=True):
        out[str(split)] = {
            "items": int(len(rows)),
            "groups": int(rows["group"].nunique()),
            "topic": {str(k): int(v) for k, v in rows["topic"].value_counts().sort_index().items()},
            "stance": {str(k): int(v) for k, v in rows["stance"].dropna().value_counts().sort_index().items()},
        }
    return out


def evaluate_model(label_files: Sequence[str], inputs: Sequence[str], model_dir: Path | None,
                   split: str, params: Params) -> dict[str, Any]:
    clf = model_store.load(model_dir, params.classify.model_sha256)
    if split in (clf.metadata.get("trained_on_splits") or []):
        raise TrainError(f"the model in {model_dir or model_store.DEFAULT_DIR} was trained on split "
                         f"{split!r}: its figures there would not mean anything; evaluate another split")
    labels = load_labels(label_files, inputs, params)
    rows = labels.split([split])
    if rows.empty:
        raise TrainError(f"no labelled item in split {split!r}")
    metrics = measure(clf, with_features(rows, params.classify.lead_chars), params)
    return {"split": split, "model_version": clf.version, "model_dir": str(model_dir or "models/stance"),
            "training_data_sha256": clf.metadata.get("training_data_sha256"),
            "label_join": {k: v for k, v in labels.counts.items() if k != "unmatched_examples"},
            **metrics}


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
