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
from pipeline.extract.stage import quote_rows
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
    """Scorer-format lines, built from the very quote rows ``frstance run`` writes."""
    nlp = load_nlp(nlp_params.model)
    parsed = parse_texts([d["text"] for d in docs], nlp, batch_size=nlp_params.batch_size,
                         max_chunk_chars=nlp_params.max_chunk_chars)
    yield from predict_parsed(docs, parsed, model)


def predict_parsed(docs: list[dict[str, Any]], parsed, model: AttributionModel):
    """``predict`` on documents already parsed (``parsed`` in the order of ``docs``)."""
    for d, doc in zip(docs, parsed):
        rows = quote_rows(doc, str(d["doc_id"]), extract(doc, model), model_version="")
        yield {"doc_id": d["doc_id"], "quotes": [
            {"content": [[p["start"], p["end"]] for p in r["content_pieces"]],
             "speaker": _span(r, "speaker"), "cue": _span(r, "cue"),
             "kind": r["kind"], "speaker_name": r["speaker_name"], "score": round(r["score"], 4)}
            for r in rows]}


def _span(row: dict[str, Any], key: str) -> list[int] | None:
    return None if row[f"{key}_start"] is None else [row[f"{key}_start"], row[f"{key}_end"]]


def extract_jsonl(inp: Path, out: Path, nlp_params: NlpParams, model: AttributionModel) -> dict[str, int]:
    docs = read_docs(inp)
    preds = list(predict(docs, nlp_params, model))
    lines = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in preds)
    atomic_write(Path(out), lambda tmp: tmp.write_text(lines, encoding="utf-8"))
    return {"documents": len(docs), "quotes": sum(len(p["quotes"]) for p in preds)}
