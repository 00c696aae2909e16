"""Saving and loading the topic + stance model, safely.

A model folder holds ``model.joblib`` (the fitted Pipelines), ``metadata.json`` (its
sha256, training-data hash, label counts, library versions, CV and dev scores) and
``MODEL_CARD.md``. A joblib file runs code when it is loaded, so :func:`load` checks,
*before anything is unpickled*:

1. the file's sha256 equals the one in ``metadata.json`` (a flipped byte is refused);
2. for the shipped ``models/stance``, that sha256 also equals :data:`SHIPPED_SHA256`, pinned
   in this package, so editing both files does not get a changed model loaded as ours;
3. scikit-learn's version is the one the model was saved with (major.minor): pickles of
   another version can fail or, worse, predict differently.

A model from another folder passes checks 1 and 3 only: they prove the file is the one its
metadata describes, not that its author is honest, and loading it runs code its author
wrote. :func:`trust` says exactly what was checked; the CLI prints it before such a model is
loaded and the manifest records it. ``classify.model_sha256`` in params.yaml pins such a
model the way the shipped one is pinned (a different file is refused).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from pipeline.digests import sha256_file

MODEL_FILE = "model.joblib"
METADATA = "metadata.json"
CARD = "MODEL_CARD.md"
FORMAT = "frstance-classifier/1"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "models" / "stance"
#: sha256 of the shipped models/stance/model.joblib (a test keeps it equal to metadata.json).
SHIPPED_SHA256 = "2a83b3998e47f5502edaffa88e97a565fd72c3056ba49946fe52c6d475ccf3f7"
VERSIONED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "joblib")


class ModelError(RuntimeError):
    """A model folder is missing, tampered with, or was saved by incompatible libraries."""


@dataclass(frozen=True)
class Classifier:
    """The fitted models and what they need to be applied."""

    topic: Any            # predict_proba over topic_classes
    stance: Any           # predict_proba over stance_classes
    topic_classes: tuple[str, ...]
    stance_classes: tuple[str, ...]
    version: str          # first 12 hex digits of model.joblib's sha256
    metadata: dict


def library_versions() -> dict[str, str | None]:
    out = {}
    for lib in VERSIONED_LIBRARIES:
        try:
            out[lib] = md.version(lib)
        except md.PackageNotFoundError:  # pragma: no cover
            out[lib] = None
    return out


def _minor(v: str | None) -> tuple[str, ...]:
    return tuple((v or "").split(".")[:2])


def save(bundle: dict[str, Any], folder: Path, metadata: dict[str, Any], card: str) -> str:
    """Write model.joblib, metadata.json (with its sha256) and MODEL_CARD.md atomically."""
    from pipeline.store import atomic_write, write_json

    folder.mkdir(parents=True, exist_ok=True)
    _drop_memory_addresses(bundle)
    buf = io.BytesIO()
    joblib.dump({"format": FORMAT, **bundle}, buf, compress=3)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    atomic_write(folder / MODEL_FILE, lambda tmp: tmp.write_bytes(data))
    meta = {"format": FORMAT, "sha256": digest, "bytes": len(data), **metadata,
            "library_versions": library_versions()}
    write_json(meta, folder / METADATA)
    atomic_write(folder / CARD, lambda tmp: tmp.write_text(card, encoding="utf-8"))
    return digest


def _drop_memory_addresses(obj: Any, seen: set | None = None) -> None:
    """Remove scikit-learn's ``_stop_words_id`` (the ``id()`` of a list: a memory address, so it
    differs between runs) from every vectorizer, so that training twice on the same data writes
    the same bytes. The attribute only caches a consistency check, which reruns without it."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, dict):
        for v in obj.values():
            _drop_memory_addresses(v, seen)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _drop_memory_addresses(v, seen)
    elif type(obj).__module__.startswith(("sklearn.", "pipeline.")) and hasattr(obj, "__dict__"):
        obj.__dict__.pop("_stop_words_id", None)
        for v in vars(obj).values():
            _drop_memory_addresses(v, seen)


def read_metadata(folder: Path | None = None) -> dict[str, Any]:
    folder = Path(folder) if folder else DEFAULT_DIR
    path = folder / METADATA
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"no stance model in {folder}: {METADATA} is missing "
                         "(train one with `frstance train`)") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path} is not frstance classifier metadata (format {FORMAT} expected)")
    return meta


def is_shipped(folder: Path | str | None) -> bool:
    return folder is None or Path(folder).resolve() == DEFAULT_DIR


def trust(folder: Path | str | None, pin: str | None = None) -> dict[str, Any]:
    """What loading the model in ``folder`` trusts: the manifest's ``stance_model.trust`` entry."""
    if is_shipped(folder):
        return {"source": "shipped", "pinned_sha256": SHIPPED_SHA256,
                "statement": "the model shipped with frstance; its sha256 is pinned in the package"}
    checks = f"{MODEL_FILE} matches the sha256 in its {METADATA}"
    if pin:
        checks += f" and the pin classify.model_sha256 ({pin[:12]}…)"
    return {"source": "external", "pinned_sha256": pin or None,
            "statement": (f"the stance model in {folder} is not the one shipped with frstance: loading it "
                          f"unpickles {MODEL_FILE}, which runs whatever code its author put in it. Checked: "
                          f"{checks}, which proves the file is intact, not who made it"
                          + ("" if pin else " (set classify.model_sha256 to pin it)")
                          + ". Use only model folders you trained or got from someone you trust.")}


def verify(folder: Path | None = None, pin: str | None = None) -> dict[str, Any]:
    """Every check of the module docstring, without unpickling; returns the metadata.
    ``pin``: for a model from elsewhere, the sha256 its model.joblib must have."""
    shipped = is_shipped(folder)
    folder = Path(folder) if folder else DEFAULT_DIR
    meta = read_metadata(folder)
    path = folder / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing")
    actual = sha256_file(path)
    if actual != meta.get("sha256"):
        raise ModelError(f"{path} does not match the sha256 in {folder / METADATA} (expected "
                         f"{str(meta.get('sha256'))[:12]}…, file is {actual[:12]}…): the file was changed "
                         "or truncated after training; refusing to load it")
    if shipped and actual != SHIPPED_SHA256:
        raise ModelError(f"{path} is not the model shipped with this frstance version (its sha256 "
                         f"{actual[:12]}… is not the pinned {SHIPPED_SHA256[:12]}…); refusing to load it")
    if not shipped and pin and actual != pin.strip().lower():
        raise ModelError(f"{path} is not the pinned model (its sha256 {actual[:12]}… is not classify.model_sha256 "
                         f"{pin[:12]}…); refusing to load it")
    trained_on = (meta.get("embedding_model") or {}).get("id")
    from pipeline.classify.embed import MODEL_ID

    if trained_on and trained_on != MODEL_ID:
        raise ModelError(f"{path} was trained on {trained_on} sentence embeddings, and this frstance computes "
                         f"{MODEL_ID}: its embedding features would not mean what it learnt; retrain it with "
                         "`frstance train`")
    saved = (meta.get("library_versions") or {}).get("scikit-learn")
    have = library_versions()["scikit-learn"]
    if _minor(saved) != _minor(have):
        raise ModelError(f"{path} was saved with scikit-learn {saved}, this environment has {have}: "
                         "retrain it with `frstance train` or install the matching scikit-learn")
    return meta


def load(folder: Path | None = None, pin: str | None = None) -> Classifier:
    meta = verify(folder, pin)
    path = (Path(folder) if folder else DEFAULT_DIR) / MODEL_FILE
    try:
        bundle = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad model file
        raise ModelError(f"cannot load {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise ModelError(f"{path} does not hold a frstance classifier")
    return Classifier(topic=bundle["topic"], stance=bundle["stance"],
                      topic_classes=tuple(bundle["topic_classes"]),
                      stance_classes=tuple(bundle["stance_classes"]),
                      version=meta["sha256"][:12], metadata=meta)


def resave_copy(src: Path, dst: Path, note: str) -> Path:
    """Copy the model folder ``src`` to ``dst`` with ``note`` added to the bundle: the same
    predictions under a new sha256 (what a retrained model looks like to caches and manifests;
    used by the scale tests and benchmark)."""
    import shutil

    import joblib

    src, dst = Path(src), Path(dst)
    shutil.copytree(src, dst)
    bundle = joblib.load(src / MODEL_FILE)
    bundle["resaved_for"] = note
    joblib.dump(bundle, dst / MODEL_FILE)
    meta = json.loads((src / METADATA).read_text(encoding="utf-8"))
    meta["sha256"] = sha256_file(dst / MODEL_FILE)
    (dst / METADATA).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return dst
