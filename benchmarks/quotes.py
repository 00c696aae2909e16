"""Quote extraction on PolNeAR dev: our scores beside textacy's and the Gender Gap Tracker's,
and what extraction costs beyond spaCy's own parse.

    python benchmarks/quotes.py [--shared ../shared] [--repeats 3] [--gold PATH]

Accuracy: the texts of ``--gold`` (default PolNeAR dev) go through the same code as
``frstance extract-quotes`` and are scored by ``../shared/eval/score_quotes.py``; textacy's
and GGT's dev scores are read from the JSON files beside the gold (measured by the corpus
maintainers with the same scorer).

Speed, in this process on the same texts: (a) bare ``nlp.pipe`` with the configured
pipeline, (b) extraction alone on the parsed docs (``article_rows``: attributions, speaker
resolution, entity and quote rows: everything ``frstance run`` adds per article). The ratio (b) / (a) is the overhead; the goal
is at most 0.10. Each is timed ``--repeats`` times and the fastest run is reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import spacy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import machine  # noqa: E402
from pipeline.config import NlpParams  # noqa: E402
from pipeline.extract import quote_model  # noqa: E402
from pipeline.extract.evaljsonl import predict  # noqa: E402
from pipeline.extract.nlp import load_nlp, paragraph_breaks  # noqa: E402
from pipeline.extract.stage import article_rows  # noqa: E402
from pipeline.extract.train_quotes import load_scorer, score  # noqa: E402

METRICS = ("content_precision", "content_recall", "content_f1", "speaker_accuracy",
           "e2e_precision", "e2e_recall", "e2e_f1")


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--gold", type=Path, help="gold JSONL (default: SHARED/eval/polnear/dev.jsonl)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=NlpParams().model)
    args = ap.parse_args(argv)
    gold_path = args.gold or args.shared / "eval" / "polnear" / "dev.jsonl"
    golds = [json.loads(line) for line in gold_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [g["text"] for g in golds]
    model, model_version = quote_model.load_with_version()
    nlp_params = NlpParams(model=args.model)

    # ---- accuracy
    preds = list(predict([{"doc_id": g["doc_id"], "text": g["text"]} for g in golds], nlp_params, model))
    ours = score(load_scorer(args.shared / "eval" / "score_quotes.py"), golds, preds)
    peers = {}
    for name, file in (("textacy", "textacy-dev.json"), ("GGT rules", "ggt-dev.json")):
        p = gold_path.parent / file
        if p.exists() and gold_path.name == "dev.jsonl":
            peers[name] = json.loads(p.read_text())
    print(f"# {gold_path.name}: {len(golds)} articles; attribution model {model_version}")
    names = ["frstance", *peers]
    for view in ("direct", "all"):
        print(f"\n{view:8s} " + " ".join(f"{n:>10s}" for n in names))
        for m in METRICS:
            vals = [ours[view][m]] + [peers[n][view][m] for n in peers]
            print(f"{m:18s} " + " ".join(f"{v:10.3f}" for v in vals))

    # ---- speed
    nlp = load_nlp(args.model)
    plain = spacy.load(args.model, exclude=[c for c in spacy.info(args.model)["pipeline"] if c not in nlp.pipe_names])
    docs = list(nlp.pipe(texts, batch_size=nlp_params.batch_size))
    words = sum(len(t.split()) for t in texts)

    def bare():  # spaCy's own pipeline, without anything of ours
        for _ in plain.pipe(texts, batch_size=nlp_params.batch_size):
            pass

    tokenized = [nlp.make_doc(t) for t in texts]

    def ours_in_pipe():  # our paragraph-break component (it runs inside nlp.pipe, before the parser)
        for doc in tokenized:
            paragraph_breaks(doc)

    def extraction():
        for i, doc in enumerate(docs):  # exactly what `frstance run` does per parsed article
            article_rows(doc, str(i), model, "bench")

    t_bare = _best(bare, args.repeats)
    t_comp = _best(ours_in_pipe, args.repeats)
    t_extract = _best(extraction, args.repeats)
    added = t_comp + t_extract
    print(f"\n# speed on the same {len(texts)} texts ({words} words), best of {args.repeats}, "
          f"{machine.describe()}")
    print(f"bare spaCy nlp.pipe ({', '.join(plain.pipe_names)})")
    print(f"                        {t_bare:8.2f} s  ({words / t_bare:,.0f} words/s)")
    print(f"paragraph component     {t_comp:8.2f} s")
    print(f"extraction on the docs  {t_extract:8.2f} s  (attributions, speakers, entity and quote rows)")
    print(f"overhead ratio          {added / t_bare:8.3f}  (what frstance adds / bare parse; goal <= 0.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
