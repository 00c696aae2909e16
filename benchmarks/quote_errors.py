"""Where the attribution model's predictions go wrong, out of fold on PolNeAR *train*.

Trains the attribution model (the shipped hyper-parameters and keep thresholds) on one half
of the train documents, predicts the other half, and the other way round; then sorts every
prediction by kind (direct / mixed / indirect, from its quotation marks) and outcome:

    match      content IoU >= 0.5 with a gold content (the scorer's rule)
    too_short  overlaps a gold content, IoU < 0.5, and lies (90%+) inside it
    too_long   overlaps a gold content, IoU < 0.5, and holds (90%+) all of it
    crossing   overlaps a gold content otherwise
    nothing    overlaps no gold content (not an attribution in PolNeAR)

and prints the counts and, with --examples N, N random predictions per error class with the
gold content they overlap. Train only: the corpus authors ask that dev and test are not read.

    python benchmarks/quote_errors.py [--cache /tmp/parse-cache] [--examples 5]

About 1 minute on 2 cores with a parse cache (parsing the 840 articles adds about 3).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.config import NlpParams  # noqa: E402
from pipeline.extract import quote_model  # noqa: E402
from pipeline.extract import train_quotes as TQ  # noqa: E402
from pipeline.extract.attribution import _kind, _length, iou, overlap  # noqa: E402

OUTCOMES = ("match", "too_short", "too_long", "crossing", "nothing")


def outcome(pred, golds) -> tuple[str, tuple | None]:
    """The class of one predicted content against an article's gold contents."""
    best = max((iou(pred, g) for g in golds), default=0.0)
    if best >= 0.5:
        return "match", None
    common, gold = max(((overlap(pred, g), g) for g in golds), default=(0, None))
    if not common:
        return "nothing", None
    if common >= 0.9 * _length(pred):
        return "too_short", gold
    if common >= 0.9 * _length(gold):
        return "too_long", gold
    return "crossing", gold


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--cache", type=Path, help="parse cache folder (as train_quotes --cache)")
    ap.add_argument("--examples", type=int, default=0)
    ap.add_argument("--seed", type=int, default=7, help="seed of the document halves")
    args = ap.parse_args(argv)
    golds = TQ.read_gold(args.shared / "eval" / "polnear" / "train.jsonl")
    docs = TQ.parse([g["text"] for g in golds], NlpParams().model, args.cache)
    hp = json.loads((quote_model.DEFAULT_DIR / quote_model.METADATA).read_text(encoding="utf-8"))["hyperparameters"]
    counts: collections.Counter = collections.Counter()
    examples = collections.defaultdict(list)
    for held in TQ.doc_folds(len(golds), 2, args.seed):
        held_set = set(held)
        fit = [i for i in range(len(golds)) if i not in held_set]
        model = TQ.train([docs[i] for i in fit], [golds[i] for i in fit], C_cue=hp["C_cue"],
                         C_content=hp["C_content"], cue_threshold=hp["cue_threshold"],
                         content_threshold=hp["content_threshold"], C_keep=hp["C_keep"],
                         keep_threshold=hp["keep_threshold"],
                         keep_threshold_indirect=hp["keep_threshold_indirect"])
        for i, pred in zip(held, TQ.predictions([docs[i] for i in held], [golds[i] for i in held], model)):
            text = golds[i]["text"]
            gold = [tuple(map(tuple, a["content"])) for a in golds[i]["attributions"]]
            for q in pred["quotes"]:
                content = tuple(map(tuple, q["content"]))
                kind = _kind(text, content)
                what, near = outcome(content, gold)
                counts[kind, what] += 1
                if what != "match":
                    examples[kind, what].append((text, content, near, q))
    print(f"# PolNeAR train, out of fold (2 halves, seed {args.seed}); shipped hyper-parameters")
    print(f"{'kind':9s}" + "".join(f"{o:>10s}" for o in OUTCOMES) + f"{'precision':>11s}")
    for kind in ("direct", "mixed", "indirect"):
        row = [counts[kind, o] for o in OUTCOMES]
        print(f"{kind:9s}" + "".join(f"{n:10d}" for n in row) + f"{row[0] / max(sum(row), 1):11.3f}")
    rng = random.Random(args.seed)
    for key in sorted(examples) if args.examples else []:
        print(f"\n## {key[0]} {key[1]}")
        for text, content, near, q in rng.sample(examples[key], min(args.examples, len(examples[key]))):
            cue = text[q["cue"][0]:q["cue"][1]] if q["cue"] else None
            print("  pred:", " | ".join(text[s:e] for s, e in content)[:240].replace("\n", " "),
                  f"[cue {cue!r}, {q['origin']}]")
            if near:
                print("  gold:", " | ".join(text[s:e] for s, e in near)[:240].replace("\n", " "))


if __name__ == "__main__":
    main()
