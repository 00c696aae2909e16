"""The shipped topic + stance model: pinned, reproducible, and sensible on the demo corpus."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE
from pipeline.classify import embed, model_store
from pipeline.digests import sha256_file


def test_shipped_model_is_pinned_and_loads():
    meta = json.loads((model_store.DEFAULT_DIR / "metadata.json").read_text(encoding="utf-8"))
    assert meta["sha256"] == model_store.SHIPPED_SHA256
    assert model_store.sha256_file(model_store.DEFAULT_DIR / "model.joblib") == model_store.SHIPPED_SHA256
    clf = model_store.load()
    assert clf.topic_classes == ("facial_recognition", "other")
    assert set(clf.stance_classes) == {"ban", "oversight", "neutral"}
    assert meta["trained_on_splits"] == ["train"]  # dev stays free for honest figures


def test_embedding_files_are_pinned():
    assert sha256_file(embed.TOKENIZER_FILE) == embed.TOKENIZER_SHA256
    v = embed.embed_texts(["Council bans police face recognition", "Council bans police face recognition", ""])
    assert v.shape == (3, embed.DIMENSION)
    assert (v[0] == v[1]).all()
    assert abs(float((v[0] ** 2).sum()) - 1.0) < 1e-5
    # the dynamic-int8 build here gives the vectors the shipped stance model was trained on
    assert embed.get_embedder().reference_cosine >= embed.REFERENCE_MIN_COSINE


def test_int8_embedding_model_is_built_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FRSTANCE_MODEL_CACHE", str(tmp_path / "cache"))
    built = embed.dynamic_model_file()
    assert built.parent == tmp_path / "cache" / "embedding" and built.is_file()
    stamp = built.stat().st_mtime_ns
    assert embed.dynamic_model_file() == built and built.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert sha256_file(built) == sha256_file(embed.get_embedder().path)  # the same build as everywhere
    assert not [p for p in built.parent.iterdir() if p != built]  # no temporary files left behind
    built.write_bytes(b"truncated")  # a damaged cached build is rebuilt, not used
    again = embed.Embedder()
    assert again.path == built and again.reference_cosine >= embed.REFERENCE_MIN_COSINE
    assert built.stat().st_size > 1_000_000


def test_a_model_trained_on_other_embeddings_is_refused(tmp_path):
    folder = tmp_path / "stance"
    shutil.copytree(model_store.DEFAULT_DIR, folder)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["embedding_model"]["id"] = "all-MiniLM-L6-v2-onnx-int8"  # the float32-matmul embeddings of before
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(model_store.ModelError, match="trained on all-MiniLM-L6-v2-onnx-int8 sentence embeddings"):
        model_store.load(folder)


@pytest.mark.slow
def test_shipped_model_reproduces_its_card_on_dev(shared, tmp_path):
    out = tmp_path / "metrics.json"
    res = subprocess.run([sys.executable, "-m", "pipeline", "evaluate", "--labels", shared / "corpus" / "labels.csv",
                          "--input", shared / "corpus" / "items.jsonl", shared / "corpus" / "records",
                          "--split", "dev", "--out", out], capture_output=True, text=True, cwd=REPO, timeout=900)
    assert res.returncode == 0, res.stderr
    m = json.loads(out.read_text(encoding="utf-8"))
    meta = json.loads((model_store.DEFAULT_DIR / "metadata.json").read_text(encoding="utf-8"))
    # The int8 embedding model multiplies in int8, and CPUs with and without VNNI instructions
    # round those products differently (embed.py checks the vectors against reference ones):
    # probabilities move by about 1e-4 between machines (the model before this one: ECE 0.14543
    # where it was trained, 0.14570 on an AVX2-only AMD EPYC). No dev decision is that close (the
    # smallest top-two margin is 0.009), so the F1 figures are exact; ECE moves with the probabilities.
    for task, key, tol in (("topic", "f1", 1e-9), ("stance", "macro_f1", 1e-9), ("stance", "ece", 2e-3)):
        assert m[task][key] == pytest.approx(meta["evaluation"][task][key], abs=tol), (task, key)
    assert m["topic"]["f1"] >= 0.95  # the topic goal, met on dev


@pytest.mark.slow
def test_demo_corpus_gets_sensible_labels(tmp_path):
    out = tmp_path / "demo"
    res = subprocess.run([sys.executable, "-m", "pipeline", "run", "--input", SAMPLE, "--out", out, "--quiet"],
                         capture_output=True, text=True, cwd=REPO, timeout=900)
    assert res.returncode == 0, res.stderr
    arts = {r["article_id"]: r["title"] for r in pq.read_table(out / "articles.parquet").to_pylist()}
    pred = {arts[r["article_id"]]: r for r in pq.read_table(out / "predictions.parquet").to_pylist()
            if arts[r["article_id"]]}
    expect = {
        "Harborview council votes 7-2 to ban city use of facial recognition": "ban",
        "Alderton council adopts five-year moratorium on facial recognition": "ban",
        "Trade group urges lawmakers: regulate facial recognition, don’t ban it": "oversight",
        "Vendors back draft national testing protocol for face-matching systems": "oversight",
        "Masks still trip up face matching, Lakemont evaluation finds": "neutral",
    }
    for title, stance in expect.items():
        assert pred[title]["topic"] == "facial_recognition", title
        assert pred[title]["stance"] == stance, (title, pred[title])
    for title in ("Millbrook hospital network pilots AI model to flag urgent chest X-rays",
                  "Start-up Lumenfold raises $60 million for light-based AI chips"):
        assert pred[title]["topic"] == "other" and pred[title]["stance"] is None
    ban = pred["Harborview council votes 7-2 to ban city use of facial recognition"]
    # the evidence named is the ban: its word, or the guideline family it belongs to
    assert any("ban" in t or t.startswith("cue: halt words") for t in ban["top_features"][:3]), ban["top_features"]
    terms = pq.read_table(out / "topic_terms.parquet").to_pylist()
    assert len({t["topic_id"] for t in terms}) >= 2
