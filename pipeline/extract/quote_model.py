"""Saving and loading the attribution model: plain JSON weights checked against a sha256.

A model folder holds

- ``attribution.json``: the two linear models, the decoding thresholds and options;
- ``metadata.json``: the sha256 of ``attribution.json``, what it was trained on, the
  scores measured when it was chosen, library versions;
- ``MODEL_CARD.md``: intended use, data, metrics, limitations.

The weights are JSON, so loading a model never executes code; the sha256 check refuses a
file that was changed after training (or truncated) with a clear message.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.extract.linear import LinearModel

if TYPE_CHECKING:  # imported lazily: verifying a model file needs neither spaCy nor the extractor
    from pipeline.extract.attribution import AttributionModel

WEIGHTS = "attribution.json"
METADATA = "metadata.json"
FORMAT = "frstance-attribution/1"
#: The model shipped with the package.
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "models" / "quotes"


class ModelError(RuntimeError):
    """A model folder is missing, unreadable, tampered with or of an unknown format."""


def to_dict(model: AttributionModel) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "cue": model.cue.to_dict(),
        "content": model.content.to_dict(),
        "extra_cue_lemmas": sorted(model.extra_cue_lemmas),
        "min_speech_words": model.min_speech_words,
        "merge_following_quotes": model.merge_following_quotes,
        **({"keep": model.keep.to_dict()} if model.keep is not None else {}),
        **({"keep_threshold_indirect": model.keep_threshold_indirect}
           if model.keep_threshold_indirect is not None else {}),
        **({"cut_variants": True} if model.cut_variants else {}),
    }


def from_dict(data: dict[str, Any]) -> AttributionModel:
    from pipeline.extract.attribution import AttributionModel

    if data.get("format") != FORMAT:
        raise ModelError(f"unknown attribution model format {data.get('format')!r} (expected {FORMAT})")
    try:
        return AttributionModel(
            cue=LinearModel.from_dict(data["cue"]),
            content=LinearModel.from_dict(data["content"]),
            extra_cue_lemmas=frozenset(str(x) for x in data.get("extra_cue_lemmas", [])),
            min_speech_words=int(data.get("min_speech_words", 4)),
            merge_following_quotes=bool(data.get("merge_following_quotes", True)),
            keep=LinearModel.from_dict(data["keep"]) if data.get("keep") is not None else None,
            keep_threshold_indirect=(float(data["keep_threshold_indirect"])
                                     if data.get("keep_threshold_indirect") is not None else None),
            cut_variants=bool(data.get("cut_variants", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"attribution model is malformed: {exc}") from exc


def dumps(model: AttributionModel) -> bytes:
    return (json.dumps(to_dict(model), sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save(model: AttributionModel, folder: Path, metadata: dict[str, Any]) -> Path:
    """Write ``attribution.json`` and ``metadata.json`` (with the weights' sha256) atomically."""
    from pipeline.store import atomic_write, write_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    blob = dumps(model)
    atomic_write(folder / WEIGHTS, lambda tmp: tmp.write_bytes(blob))
    meta = {**metadata, "format": FORMAT, "weights_file": WEIGHTS, "sha256": sha256(blob)}
    write_json(meta, folder / METADATA)
    return folder


def load(folder: Path | None = None) -> AttributionModel:
    """Load and verify the model in ``folder`` (default: the shipped model)."""
    return load_with_version(folder)[0]


def _verified(folder: Path | None) -> tuple[bytes, str]:
    """The weights' bytes and their sha256, checked against metadata.json."""
    folder = Path(folder) if folder is not None else DEFAULT_DIR
    wpath, mpath = folder / WEIGHTS, folder / METADATA
    try:
        blob = wpath.read_bytes()
        meta = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"no attribution model in {folder}: {Path(exc.filename).name} is missing") from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the attribution model in {folder}: {exc}") from exc
    expected = meta.get("sha256") if isinstance(meta, dict) else None
    if expected != sha256(blob):
        raise ModelError(
            f"{wpath} does not match the sha256 in {mpath.name} (expected {expected}, got {sha256(blob)}); "
            "the file was modified or corrupted: restore it or retrain"
        )
    return blob, expected


def load_with_version(folder: Path | None = None) -> tuple[AttributionModel, str]:
    """The verified model and its version (first 12 hex digits of its weights' sha256)."""
    blob, expected = _verified(folder)
    try:
        data = json.loads(blob)
    except ValueError as exc:  # pragma: no cover - the hash matched a broken file written by hand
        raise ModelError(f"{Path(folder or DEFAULT_DIR) / WEIGHTS} is not valid JSON: {exc}") from exc
    return from_dict(data), expected[:12]


def verified_version(folder: Path | None = None) -> str:
    """The version of a model folder whose weights match their sha256 (without building the model)."""
    return _verified(folder)[1][:12]


def version(folder: Path | None = None) -> str:
    """Short id of a model folder: the first 12 hex digits of its weights' sha256."""
    return load_with_version(folder)[1]
