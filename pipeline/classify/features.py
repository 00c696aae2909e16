"""The feature frame every classifier reads: text, title and their sentence embeddings.

A plain function from texts to a DataFrame, so the sklearn Pipelines stay picklable and
cheap to cross-validate: the embeddings are computed once per text, outside the models.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from pipeline.classify.embed import DIMENSION, embed_texts

TEXT_EMB = tuple(f"e{i}" for i in range(DIMENSION))
TITLE_EMB = tuple(f"t{i}" for i in range(DIMENSION))
EMBEDDING_COLUMNS = list(TEXT_EMB + TITLE_EMB)


def feature_frame(texts: Sequence[str], titles: Sequence[str | None]) -> pd.DataFrame:
    """One row per text: ``text``, ``title`` (empty when missing) and 2 x 384 embedding columns."""
    texts = [t or "" for t in texts]
    titles = [t or "" for t in titles]
    # A missing title is embedded as the text's own opening, so the headline view is never blank.
    heads = [ti or te[:200] for ti, te in zip(titles, texts)]
    both = embed_texts(texts + heads)  # one call: a string that is both text and title runs once
    e_text, e_title = both[: len(texts)], both[len(texts):]
    emb = pd.DataFrame(np.hstack([e_text, e_title]) if texts else np.zeros((0, 2 * DIMENSION)),
                       columns=EMBEDDING_COLUMNS, dtype=np.float32)
    frame = pd.DataFrame({"text": texts, "title": titles})
    return pd.concat([frame, emb], axis=1)


def model_input(frame: pd.DataFrame) -> pd.DataFrame:
    """Exactly the columns the models read, in order."""
    return frame[["text", "title", *EMBEDDING_COLUMNS]]


def quote_frame(contents: Sequence[str]) -> pd.DataFrame:
    """A quotation is short and headline-like: it is both the text and the title."""
    return feature_frame(list(contents), list(contents))
