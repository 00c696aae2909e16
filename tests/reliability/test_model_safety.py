"""Models are code: a joblib file runs code when it is loaded. These tests put a pickle that
creates a marker file when unpickled in place of the stance model and check that frstance
refuses it, with a clear message, a non-zero exit and no traceback, before anything is
unpickled (the marker never appears): a flipped byte, a forged metadata.json in the shipped
folder, a pinned external model. A model from elsewhere that passes its checks is loaded, and
the CLI and the manifest say what that trusts."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE, frstance_run as _frstance
from pipeline.classify import model_store

SHIPPED = REPO / "models" / "stance"


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # what an attacker's model.joblib would do when loaded
        return (open, (self.marker, "w"))


def _evil_model(folder: Path, marker: Path, forge_metadata: bool) -> Path:
    shutil.copytree(SHIPPED, folder)
    blob = pickle.dumps(_Payload(marker))
    (folder / model_store.MODEL_FILE).write_bytes(blob)
    if forge_metadata:  # the attacker also rewrites the sha256 in metadata.json
        meta = json.loads((folder / model_store.METADATA).read_text())
        meta["sha256"] = hashlib.sha256(blob).hexdigest()
        (folder / model_store.METADATA).write_text(json.dumps(meta))
    return folder


def test_the_payload_really_runs_when_unpickled(tmp_path):
    """The check of the check: loading the evil file without frstance's guard runs its code."""
    folder = _evil_model(tmp_path / "m", tmp_path / "pwned", forge_metadata=False)
    pickle.loads((folder / model_store.MODEL_FILE).read_bytes())
    assert (tmp_path / "pwned").exists()


def test_one_flipped_byte_is_refused_before_unpickling(tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(SHIPPED, bad)
    data = bytearray((bad / model_store.MODEL_FILE).read_bytes())
    data[len(data) // 3] ^= 0x01
    (bad / model_store.MODEL_FILE).write_bytes(bytes(data))
    res = _frstance("run", "--quiet", "--input", SAMPLE, "--out", tmp_path / "out", "--model-dir", bad)
    assert res.returncode == 1
    assert "does not match the sha256" in res.stderr and "refusing to load it" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out" / "articles.parquet").exists()  # refused before any work


def test_an_evil_pickle_with_a_stale_sha_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    bad = _evil_model(tmp_path / "bad", marker, forge_metadata=False)
    res = _frstance("run", "--quiet", "--input", SAMPLE, "--out", tmp_path / "out", "--model-dir", bad)
    assert res.returncode == 1 and "does not match the sha256" in res.stderr and "Traceback" not in res.stderr
    assert not marker.exists()


def test_a_forged_shipped_model_is_refused_by_the_pin(tmp_path, monkeypatch):
    """Replacing both model.joblib and its metadata.json in the shipped folder does not get the
    file loaded: the shipped sha256 is pinned in the package."""
    marker = tmp_path / "pwned"
    forged = _evil_model(tmp_path / "stance", marker, forge_metadata=True)
    monkeypatch.setattr(model_store, "DEFAULT_DIR", forged.resolve())
    with pytest.raises(model_store.ModelError, match="not the model shipped with this frstance version"):
        model_store.load(None)
    assert not marker.exists()


def test_a_pinned_external_model_must_match_its_pin(tmp_path):
    marker = tmp_path / "pwned"
    forged = _evil_model(tmp_path / "theirs", marker, forge_metadata=True)
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text().replace(
        "  model_sha256: null", f"  model_sha256: {model_store.SHIPPED_SHA256}"))
    assert f"model_sha256: {model_store.SHIPPED_SHA256}" in params.read_text()
    res = _frstance("run", "--quiet", "--params", params, "--input", SAMPLE, "--out", tmp_path / "out",
                    "--model-dir", forged)
    assert res.returncode == 1 and "is not the pinned model" in res.stderr and "Traceback" not in res.stderr
    assert not marker.exists()
    # unpinned, the same forged folder passes the integrity checks: that is what the note warns about
    assert model_store.verify(forged)["sha256"] != model_store.SHIPPED_SHA256
    assert "runs whatever code its author put in it" in model_store.trust(forged)["statement"]


def test_an_external_model_is_loaded_and_the_cli_says_what_it_trusts(tmp_path):
    theirs = tmp_path / "theirs"
    shutil.copytree(SHIPPED, theirs)
    res = _frstance("run", "--quiet", "--workers", "1", "--input", SAMPLE / "plaintext", "--out", tmp_path / "out",
                    "--model-dir", theirs)
    assert res.returncode == 0, res.stderr
    note = [line for line in res.stderr.splitlines() if line.startswith("frstance: note:")]
    assert len(note) == 1
    assert f"the stance model in {theirs} is not the one shipped" in note[0]
    assert "matches the sha256 in its metadata.json" in note[0] and "not who made it" in note[0]
    manifest = json.loads((tmp_path / "out" / "run_manifest.json").read_text())
    assert manifest["stance_model"]["trust"]["source"] == "external"
    # the shipped model needs no note, and its manifest says it is pinned
    res = _frstance("run", "--quiet", "--workers", "1", "--input", SAMPLE / "plaintext", "--out", tmp_path / "own")
    assert res.returncode == 0 and "note:" not in res.stderr
    trust = json.loads((tmp_path / "own" / "run_manifest.json").read_text())["stance_model"]["trust"]
    assert trust == {"source": "shipped", "pinned_sha256": model_store.SHIPPED_SHA256,
                     "statement": "the model shipped with frstance; its sha256 is pinned in the package"}
