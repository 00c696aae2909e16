"""``frstance extract-quotes``: attributions for lines ``{"doc_id", "text"}``, in the scorer's format.

Output lines are ``{"doc_id": ..., "quotes": [{"content": [[s, e], ...], "speaker": [s, e] | null,
"cue": [s, e] | null, ...}]}`` with character offsets into the given text (content as its
pieces, which ``score_quotes.py`` accepts), plus the resolved speaker name, kind and score
for reading. Every input line is checked before any work; a bad one stops the command
with its line number, so no document is silently missing from the output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.config import NlpParams
from pipeline.extract.attribution import AttributionModel, extract
from pipeline.extract.nlp import load_nlp, parse_texts
from pipeline.extract.speakers import resolve_speakers
from pipeline.store import atomic_write


class JsonlInputError(ValueError):
    """An input line is not ``{"doc_id": str, "text": str}``."""


def read_docs(path: Path) -> list[dict[str, Any]]:
    docs, seen = [], set()
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise JsonlInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise JsonlInputError(f"{path}:{n}: not JSON ({exc})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or "doc_id" not in obj:
                raise JsonlInputError(f'{path}:{n}: expected an object with "doc_id" and a string "text"')
            if obj["doc_id"] in seen:
                raise JsonlInputError(f"{path}:{n}: doc_id {obj['doc_id']!r} appears twice")
            seen.add(obj["doc_id"])
            docs.append({"doc_id": obj["doc_id"], "text": obj["text"]})
    return docs


def predict(docs: list[dict[str, Any]], nlp_params: NlpParams, model: AttributionModel):
    nlp = load_nlp(nlp_params.model)
    parsed = parse_texts([d["text"] for d in docs], nlp, batch_size=nlp_params.batch_size,
                         max_chunk_chars=nlp_params.max_chunk_chars)
    for d, doc in zip(docs, parsed):
        atts = extract(doc, model)
        speakers = resolve_speakers(doc, atts)
        yield {"doc_id": d["doc_id"], "quotes": [
            {"content": [list(p) for p in a.content],
             "speaker": list(a.source) if a.source else None,
             "cue": list(a.cue) if a.cue else None,
             "kind": a.kind, "speaker_name": s.name, "score": round(float(a.score), 4)}
            for a, s in zip(atts, speakers)]}


def extract_jsonl(inp: Path, out: Path, nlp_params: NlpParams, model: AttributionModel) -> dict[str, int]:
    docs = read_docs(inp)
    lines = [json.dumps(p, ensure_ascii=False) + "\n" for p in predict(docs, nlp_params, model)]
    atomic_write(Path(out), lambda tmp: tmp.write_text("".join(lines), encoding="utf-8"))
    return {"documents": len(docs), "quotes": sum(ln.count('"content"') for ln in lines)}
