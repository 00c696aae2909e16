"""The extraction stage: articles table -> entities and quotes tables.

For every article, spaCy parses ``text`` (:mod:`pipeline.extract.nlp`), the attribution
model finds who said what (:mod:`pipeline.extract.attribution`), entity mentions get
their article-level canonical names (:mod:`pipeline.extract.entities`) and speakers are
resolved to names, roles and organisations (:mod:`pipeline.extract.speakers`). Every row
is a pure function of the article's text and id, the spaCy pipeline and the model, so
tables do not depend on batch size or order.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import pyarrow as pa
from spacy.tokens import Doc
from tqdm.auto import tqdm

from pipeline.config import NlpParams
from pipeline.extract.attribution import Attribution, AttributionModel, DocView, extract
from pipeline.extract.entities import EntityIndex, entity_rows
from pipeline.extract.nlp import load_nlp, parse_texts
from pipeline.extract.speakers import resolve_speakers
from pipeline.schemas import ENTITIES, QUOTES

PIECE_JOINER = " … "


def quote_id(article_id: str, pieces: Iterable[tuple[int, int]]) -> str:
    key = article_id + ":" + ";".join(f"{s}-{e}" for s, e in pieces)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def quote_rows(doc: Doc, article_id: str, attributions: list[Attribution], model_version: str,
               index: EntityIndex | None = None) -> list[dict]:
    """One quotes-table row per attribution."""
    index = index or EntityIndex(doc)
    text = index.text
    speakers = resolve_speakers(doc, attributions, index)
    rows = []
    for i, (a, spk) in enumerate(zip(attributions, speakers)):
        pieces = [(int(s), int(e)) for s, e in a.content]
        rows.append({
            "quote_id": quote_id(article_id, pieces),
            "article_id": article_id,
            "quote_index": i,
            "kind": a.kind,
            "content": PIECE_JOINER.join(text[s:e] for s, e in pieces),
            "content_start": pieces[0][0],
            "content_end": pieces[-1][1],
            "content_pieces": [{"start": s, "end": e} for s, e in pieces],
            "cue": text[a.cue[0]:a.cue[1]] if a.cue else None,
            "cue_start": a.cue[0] if a.cue else None,
            "cue_end": a.cue[1] if a.cue else None,
            "speaker": text[a.source[0]:a.source[1]] if a.source else None,
            "speaker_start": a.source[0] if a.source else None,
            "speaker_end": a.source[1] if a.source else None,
            "speaker_name": spk.name,
            "speaker_type": spk.type,
            "speaker_role": spk.role,
            "speaker_org": spk.org,
            "sentence": a.sentence,
            "origin": a.origin,
            "score": round(float(a.score), 6),
            "model_version": model_version,
        })
    return rows


def article_rows(doc: Doc, article_id: str, model: AttributionModel,
                 model_version: str) -> tuple[list[dict], list[dict]]:
    """(entity rows, quote rows) of one parsed article."""
    view = DocView(doc, model.min_speech_words)
    index = EntityIndex(doc, text=view.text)
    ents = [{"article_id": article_id, **r} for r in entity_rows(doc, index)]
    quotes = quote_rows(doc, article_id, extract(doc, model, view), model_version, index)
    return ents, quotes


@dataclass
class ExtractResult:
    entities: pa.Table
    quotes: pa.Table
    counts: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def extract_tables(articles: pa.Table, nlp_params: NlpParams, model: AttributionModel,
                   model_version: str, progress: bool = False) -> ExtractResult:
    """Parse every article and build the entities and quotes tables."""
    ids = articles.column("article_id").to_pylist()
    texts = articles.column("text").to_pylist()
    nlp = load_nlp(nlp_params.model)
    ent_rows: list[dict] = []
    q_rows: list[dict] = []
    t_parse = t_extract = 0.0
    bar = tqdm(total=len(ids), unit="article", desc="extract", disable=not progress, leave=False)
    docs = parse_texts(texts, nlp, batch_size=nlp_params.batch_size, max_chunk_chars=nlp_params.max_chunk_chars)
    try:
        for aid in ids:
            t0 = time.perf_counter()
            doc = next(docs)
            t1 = time.perf_counter()
            e, q = article_rows(doc, aid, model, model_version)
            ent_rows.extend(e)
            q_rows.extend(q)
            t_extract += time.perf_counter() - t1
            t_parse += t1 - t0
            bar.update()
    finally:
        bar.close()
    counts = {
        "articles_parsed": len(ids),
        "entities": len(ent_rows),
        "quotes": len(q_rows),
        "quotes_by_kind": {k: sum(1 for r in q_rows if r["kind"] == k) for k in ("direct", "mixed", "indirect")},
        "quotes_with_speaker": sum(1 for r in q_rows if r["speaker_name"]),
    }
    return ExtractResult(
        entities=ENTITIES.from_rows(ent_rows),
        quotes=QUOTES.from_rows(q_rows),
        counts=counts,
        timings={"parse": round(t_parse, 4), "extract": round(t_extract, 4)},
    )

