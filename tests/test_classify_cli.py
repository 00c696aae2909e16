"""train / evaluate / label / run as a user runs them: real corpus (read from ../shared), real
embedding model, real joblib files, and the loop of labelling more.

A small slice of the labelled corpus (whole story groups) keeps this to about a minute; the
shipped model's own figures are checked in test_shipped_model.py.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import REPO, SAMPLE
from pipeline.classify import model_store
from pipeline.schemas import PREDICTIONS, QUOTES, TOPIC_TERMS, TOPICS

pytestmark = pytest.mark.slow


def frstance(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or REPO, timeout=900)


@pytest.fixture(scope="module")
def work(tmp_path_factory, shared):
    """A label slice, fast params, and a model trained on it."""
    d = tmp_path_factory.mktemp("classify")
    with open(shared / "corpus" / "labels.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(7)
    picked = []
    for split, n in (("train", 110), ("dev", 20)):
        groups = sorted({r["group"] for r in rows if r["split"] == split})
        keep = set(rng.sample(groups, n))
        picked += [r for r in rows if r["split"] == split and r["group"] in keep]
    with open(d / "labels.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["url", "topic", "stance", "split", "group"])
        w.writeheader()
        w.writerows(picked)
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["classify"].update(cv_folds=3, bootstrap=50)
    (d / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    inputs = [shared / "corpus" / "items.jsonl", shared / "corpus" / "records"]
    res = frstance("train", "--labels", d / "labels.csv", "--input", *inputs, "--model-dir", d / "model",
                   "--params", d / "params.yaml", "--recipes", "ngram_lr,headline_lr,embedding_svm")
    assert res.returncode == 0, res.stderr
    return {"dir": d, "inputs": inputs, "labels": d / "labels.csv", "params": d / "params.yaml",
            "model": d / "model", "train_log": res.stderr}


def test_train_writes_model_metadata_and_card(work):
    meta = json.loads((work["model"] / "metadata.json").read_text(encoding="utf-8"))
    assert meta["sha256"] == model_store.sha256_file(work["model"] / "model.joblib")
    assert len(meta["training_data_sha256"]) == 64
    assert meta["trained_on_splits"] == ["train"]
    assert set(meta["label_counts"]) == {"train", "dev"}
    assert meta["library_versions"]["scikit-learn"]
    for task in ("topic", "stance"):
        scores = meta["cv"][task]["scores"]
        assert set(scores) == {"ngram_lr", "headline_lr", "embedding_svm"}
        assert meta["cv"][task]["chosen"] == max(scores, key=lambda r: scores[r]["macro_f1"])
        assert 0.0 < scores["ngram_lr"]["macro_f1"] <= 1.0
    ev = meta["evaluation"]
    assert ev["split"] == "dev" and ev["stance"]["n"] > 0
    lo, hi = ev["stance"]["ci95"]["macro_f1"]
    assert lo <= ev["stance"]["macro_f1"] <= hi
    card = (work["model"] / "MODEL_CARD.md").read_text(encoding="utf-8")
    for heading in ("## Intended use", "## Data", "## Metrics", "## Limitations and known failure cases"):
        assert heading in card
    assert f"{ev['stance']['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]" in card
    big = ev["stance"]["largest_group"]  # the card says how much of dev is one story, measured
    assert f"holds {big['n']} of its {ev['stance']['n']} on-topic items" in card
    assert f"other {ev['stance']['without_largest_group']['n']} items" in card
    assert "grouped 3-fold CV" in work["train_log"]


def test_training_twice_writes_the_same_bytes(work, tmp_path):
    # Separate processes, so anything that pickles a memory address (scikit-learn's
    # vectorizers cache id(stop_words)) would differ.
    digests = []
    for name in ("a", "b"):
        res = frstance("train", "--labels", work["labels"], "--input", *work["inputs"], "--model-dir",
                       tmp_path / name, "--params", work["params"], "--recipes", "headline_lr",
                       "--eval-split", "")
        assert res.returncode == 0, res.stderr
        digests.append(model_store.sha256_file(tmp_path / name / "model.joblib"))
    assert digests[0] == digests[1]


def test_evaluate_writes_metrics_and_refuses_a_trained_split(work, tmp_path):
    out = tmp_path / "metrics.json"
    res = frstance("evaluate", "--labels", work["labels"], "--input", *work["inputs"], "--split", "dev",
                   "--model-dir", work["model"], "--params", work["params"], "--out", out)
    assert res.returncode == 0, res.stderr
    m = json.loads(out.read_text(encoding="utf-8"))
    for task in ("topic", "stance"):
        t = m[task]
        assert {"macro_f1", "per_class", "confusion_matrix", "ece", "ci95", "calibration_bins"} <= set(t)
    assert set(m["stance"]["per_class"]) == {"ban", "oversight", "neutral"}
    # The same model on the same split gives what train measured for the card.
    meta = json.loads((work["model"] / "metadata.json").read_text(encoding="utf-8"))
    assert m["stance"]["macro_f1"] == pytest.approx(meta["evaluation"]["stance"]["macro_f1"], abs=1e-9)
    assert m["topic"]["f1"] == pytest.approx(meta["evaluation"]["topic"]["f1"], abs=1e-9)
    res = frstance("evaluate", "--labels", work["labels"], "--input", *work["inputs"], "--split", "train",
                   "--model-dir", work["model"], "--params", work["params"], "--out", tmp_path / "x.json")
    assert res.returncode == 2 and "trained on split 'train'" in res.stderr


def test_tampered_or_incompatible_model_is_refused_before_unpickling(work, tmp_path, monkeypatch):
    bad = tmp_path / "bad"
    shutil.copytree(work["model"], bad)
    data = bytearray((bad / "model.joblib").read_bytes())
    data[len(data) // 2] ^= 0x01
    (bad / "model.joblib").write_bytes(bytes(data))
    calls = []
    monkeypatch.setattr(model_store.joblib, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(model_store.ModelError, match="does not match the sha256"):
        model_store.load(bad)
    assert calls == []  # refused before anything was unpickled
    res = frstance("run", "--input", SAMPLE, "--out", tmp_path / "out", "--model-dir", bad, "--quiet")
    assert res.returncode == 1 and "does not match the sha256" in res.stderr
    assert "Traceback" not in res.stderr
    old = tmp_path / "old"
    shutil.copytree(work["model"], old)
    meta = json.loads((old / "metadata.json").read_text(encoding="utf-8"))
    meta["library_versions"]["scikit-learn"] = "0.24.2"
    (old / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(model_store.ModelError, match="saved with scikit-learn 0.24.2"):
        model_store.load(old)


def test_label_more_then_train_on_the_merged_labels(work, tmp_path):
    out = tmp_path / "run"
    res = frstance("run", "--input", *work["inputs"], "--out", out, "--model-dir", work["model"],
                   "--params", work["params"], "--quiet")
    assert res.returncode == 0, res.stderr
    to_label = tmp_path / "to_label.csv"
    res = frstance("label", "--results", out, "--n", "12", "--out", to_label, "--labels", work["labels"],
                   "--params", work["params"])
    assert res.returncode == 0, res.stderr
    with open(to_label, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    assert list(rows[0])[:5] == ["url", "topic", "stance", "split", "group"]
    labelled = {r["url"] for r in csv.DictReader(open(work["labels"], encoding="utf-8"))}
    assert not {r["url"] for r in rows} & labelled            # never asks for what is labelled
    assert len({r["article_id"] for r in rows}) == 12
    u = [float(r["uncertainty"]) for r in rows]
    assert u == sorted(u, reverse=True) and u[0] > 0.5
    # A person fills in the file (here: every item off-topic, half of them left for later).
    for i, r in enumerate(rows):
        if i % 2 == 0:
            r["topic"] = "other"
    with open(to_label, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    res = frstance("train", "--labels", work["labels"], to_label, "--input", *work["inputs"],
                   "--model-dir", tmp_path / "model2", "--params", work["params"], "--recipes", "ngram_lr",
                   "--eval-split", "")
    assert res.returncode == 0, res.stderr
    meta = json.loads((tmp_path / "model2" / "metadata.json").read_text(encoding="utf-8"))
    base = json.loads((work["model"] / "metadata.json").read_text(encoding="utf-8"))
    assert meta["label_join"]["files"] == 2 and meta["label_join"]["unlabelled_rows"] == 6
    assert meta["label_join"]["matched"] == base["label_join"]["matched"] + 6
    assert meta["label_counts"]["train"]["topic"]["other"] == base["label_counts"]["train"]["topic"].get("other", 0) + 6


def test_run_tables_follow_their_schemas(work, tmp_path):
    out = tmp_path / "demo"
    res = frstance("run", "--input", SAMPLE, "--out", out, "--model-dir", work["model"], "--quiet")
    assert res.returncode == 0, res.stderr
    for spec in (PREDICTIONS, TOPICS, TOPIC_TERMS, QUOTES):
        assert pq.read_schema(out / spec.file).equals(spec.schema, check_metadata=False), spec.name
    pred = pq.read_table(out / "predictions.parquet").to_pylist()
    for r in pred:
        if r["topic"] == "facial_recognition":
            total = r["p_ban"] + r["p_oversight"] + r["p_neutral"]
            assert total == pytest.approx(1.0) and r["stance"] is not None
        else:
            assert r["stance"] is None and r["p_ban"] is None
    quotes = pq.read_table(out / "quotes.parquet").to_pylist()
    on = {r["article_id"] for r in pred if r["topic"] == "facial_recognition"}
    assert all((q["stance"] is not None) == (q["article_id"] in on) for q in quotes)
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    assert manifest["stance_model"]["version"] == pred[0]["model_version"]


def test_bad_label_file_is_a_usage_error(work, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("url,topic,stance\nhttps://x.test/a,facial_recognition,maybe\n", encoding="utf-8")
    res = frstance("train", "--labels", bad, "--input", *work["inputs"], "--model-dir", tmp_path / "m")
    assert res.returncode == 2
    assert "bad.csv:2" in res.stderr and "needs a stance" in res.stderr
    assert not (tmp_path / "m").exists()
