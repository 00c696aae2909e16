"""The feature frame every classifier reads: headline, lead and their sentence embeddings.

A plain function from texts to a DataFrame, so the sklearn Pipelines stay picklable and
cheap to cross-validate: the embeddings are computed once per text, outside the models.

The classifiers read an article the way its labels were made: the headline and the lead
(``lead_chars`` characters, cut back to a word boundary). The labelled items are headlines
with excerpts of at most 535 characters, and the guidelines put the stance in the headline
and the lead; a full body past that would be text the models never learnt from, and would
cost the embedding model time for nothing.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from pipeline.classify.embed import DIMENSION, embed_texts
from pipeline.config import ClassifyParams

TEXT_EMB = tuple(f"e{i}" for i in range(DIMENSION))
TITLE_EMB = tuple(f"t{i}" for i in range(DIMENSION))
EMBEDDING_COLUMNS = list(TEXT_EMB + TITLE_EMB)
#: Default lead length: classify.lead_chars's default (pipeline/config.py is the one place for it).
LEAD_CHARS = ClassifyParams.lead_chars


def lead(text: str, chars: int = LEAD_CHARS) -> str:
    """The first ``chars`` characters of ``text``, cut back to the last whitespace inside them
    (a hard cut when there is none); text that fits is returned unchanged."""
    if len(text) <= chars:
        return text
    head = text[: chars + 1]
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    return text[:cut].rstrip() if cut > 0 else text[:chars]


def feature_frame(texts: Sequence[str], titles: Sequence[str | None],
                  lead_chars: int = LEAD_CHARS) -> pd.DataFrame:
    """One row per text: ``text`` (its lead), ``title`` (empty when missing) and 2 x 384
    embedding columns."""
    texts = [lead(t or "", lead_chars) for t in texts]
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


def quote_frame(contents: Sequence[str], lead_chars: int = LEAD_CHARS) -> pd.DataFrame:
    """A quotation is short and headline-like: it is both the text and the title."""
    contents = [lead(c or "", lead_chars) for c in contents]
    return feature_frame(contents, contents, lead_chars)
