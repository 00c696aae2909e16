"""Command line: argument parsing and exit codes only.

Exit codes: 0 the run completed (quarantined inputs or not); 1 the run could not
complete (output folder unwritable or locked, internal error); 2 usage error
(bad option, an input that matches nothing, invalid params); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from pipeline import __version__

DEFAULT_INPUT = "data/sample"
DEFAULT_OUT = "data/processed"
DEFAULT_PARAMS = "params.yaml"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        raise UsageError(message)


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _add_scale_args(p: argparse.ArgumentParser, per_article: bool = True) -> None:
    p.add_argument("--workers", "-w", type=_positive_int, metavar="N",
                   help="worker processes (default: run.workers in params, else every core)")
    if not per_article:  # ingest: files are read by local processes; there is nothing to cache
        return
    p.add_argument("--engine", choices=("local", "dask"),
                   help="where the per-article stages run (default: run.engine in params, else local)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                   "(with --engine dask; without it a local cluster of --workers processes starts)")
    p.add_argument("--no-cache", action="store_true", help="recompute every article instead of reusing "
                   "cached results (the cache is neither read nor kept)")


def _add_run_args(p: argparse.ArgumentParser, per_article: bool = True) -> None:
    p.add_argument("--input", "-i", nargs="+", action="extend", metavar="PATH",
                   help=f"files, folders (recursive) or globs; default: {DEFAULT_INPUT}/")
    p.add_argument("--out", "-o", metavar="DIR", default=DEFAULT_OUT,
                   help=f"output folder (default: {DEFAULT_OUT}/)")
    p.add_argument("--params", metavar="FILE",
                   help=f"parameters file (default: ./{DEFAULT_PARAMS} if present, else built-in defaults)")
    _add_scale_args(p, per_article)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    if per_article:
        p.add_argument("--model-dir", metavar="DIR", help="topic + stance model folder (default: "
                       "classify.model_dir in params, else the shipped models/stance; a model from "
                       "elsewhere runs code when loaded: see README, Reliability)")


def _say_what_is_trusted(params) -> None:
    """Before a stance model from elsewhere is loaded: what frstance checked, what it trusts."""
    from pipeline.classify.model_store import trust

    t = trust(params.classify.model_dir, params.classify.model_sha256)
    if t["source"] != "shipped":
        print(f"frstance: note: {t['statement']}", file=sys.stderr)


def _with_model_dir(params, model_dir: str | None):
    if not model_dir:
        return params
    import dataclasses

    return dataclasses.replace(params, classify=dataclasses.replace(params.classify, model_dir=model_dir))


def _with_cache(params, args: argparse.Namespace):
    if not getattr(args, "no_cache", False):
        return params
    import dataclasses

    return dataclasses.replace(params, run=dataclasses.replace(params.run, cache=False))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="frstance", description="Where the news stands on regulating facial recognition.")
    parser.add_argument("--version", action="version", version=f"frstance {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser("run", help="run every stage over the inputs and write all tables")
    _add_run_args(run)
    ingest = sub.add_parser("ingest", help="read inputs into articles.parquet and quarantine.parquet")
    _add_run_args(ingest, per_article=False)
    ex = sub.add_parser("extract", help="parse RESULTS/articles.parquet into entities.parquet and quotes.parquet")
    ex.add_argument("--results", "-r", metavar="DIR", default=DEFAULT_OUT,
                    help=f"folder holding articles.parquet (default: {DEFAULT_OUT}/)")
    ex.add_argument("--params", metavar="FILE", help=f"parameters file (default: ./{DEFAULT_PARAMS} if present)")
    _add_scale_args(ex)
    ex.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    ex.add_argument("--model-dir", metavar="DIR", help="topic + stance model folder (default: "
                    "classify.model_dir in params, else the shipped models/stance)")
    xq = sub.add_parser("extract-quotes", help="attributions for JSONL lines {doc_id, text}, in the "
                        "format of score_quotes.py")
    xq.add_argument("--jsonl", required=True, metavar="IN", help='input lines {"doc_id": ..., "text": ...}')
    xq.add_argument("--out", required=True, metavar="OUT", help="output JSONL (written atomically)")
    xq.add_argument("--params", metavar="FILE", help=f"parameters file (default: ./{DEFAULT_PARAMS} if present)")
    xq.add_argument("--model-dir", metavar="DIR", help="attribution model folder (default: quotes.model_dir "
                    "in params, else the shipped models/quotes)")
    tr = sub.add_parser("train", help="train the topic and stance models on labelled articles")
    _add_label_args(tr)
    tr.add_argument("--model-dir", metavar="DIR", default="models/stance",
                    help="where model.joblib, metadata.json and MODEL_CARD.md go (default: models/stance)")
    tr.add_argument("--splits", default="train", metavar="A,B",
                    help="label splits to train on (default: train; rows without a split are train)")
    tr.add_argument("--select-splits", default="train", metavar="A,B",
                    help="label splits whose grouped cross-validation chooses the recipe (default: train)")
    tr.add_argument("--eval-split", default="dev", metavar="NAME",
                    help="split measured for the model card, by a model fitted without it (default: dev)")
    tr.add_argument("--recipes", metavar="A,B", help="candidate recipes to compare (default: all)")
    ev = sub.add_parser("evaluate", help="measure a model on a labelled split; writes metrics.json")
    _add_label_args(ev)
    ev.add_argument("--split", default="dev", help="the split to measure (default: dev)")
    ev.add_argument("--model-dir", metavar="DIR", help="model folder (default: classify.model_dir, "
                    "else the shipped models/stance)")
    ev.add_argument("--out", default="metrics.json", metavar="FILE", help="default: metrics.json")
    rp = sub.add_parser("report", help="one self-contained HTML report of a run (or --format xlsx / csv exports)")
    rp.add_argument("--results", "-r", metavar="DIR", default=DEFAULT_OUT,
                    help=f"a run's output folder (default: {DEFAULT_OUT}/)")
    rp.add_argument("--out", "-o", metavar="PATH", default="report.html",
                    help="html / xlsx: the file; csv: a folder for the CSV files (default: report.html)")
    rp.add_argument("--format", "-f", choices=("html", "xlsx", "csv"), default="html")
    lb = sub.add_parser("label", help="pick the most informative unlabelled articles for a person to label")
    lb.add_argument("--results", "-r", metavar="DIR", default=DEFAULT_OUT,
                    help=f"a run's output folder (default: {DEFAULT_OUT}/)")
    lb.add_argument("--n", type=_positive_int, default=50, help="how many articles (default: 50)")
    lb.add_argument("--out", default="to_label.csv", metavar="CSV", help="default: to_label.csv")
    lb.add_argument("--labels", nargs="+", action="extend", metavar="CSV", default=[],
                    help="label files whose URLs are already labelled (also skipped)")
    lb.add_argument("--params", metavar="FILE", help=f"parameters file (default: ./{DEFAULT_PARAMS} if present)")
    return parser


def _add_label_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--labels", nargs="+", action="extend", required=True, metavar="CSV",
                   help="label files (url, topic, stance, split, group); later files win for the same URL")
    p.add_argument("--input", "-i", nargs="+", action="extend", required=True, metavar="PATH",
                   help="the articles the labels refer to (files, folders, globs)")
    p.add_argument("--params", metavar="FILE", help=f"parameters file (default: ./{DEFAULT_PARAMS} if present)")


def _split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise UsageError(f"expected a comma-separated list, got {value!r}")
    return items


def _classify_command(args: argparse.Namespace) -> int:
    from pipeline.classify.embed import EmbeddingError
    from pipeline.classify.labels import LabelError
    from pipeline.classify.model_store import ModelError
    from pipeline.classify.train import TrainError
    from pipeline.ingest.discover import InputError
    from pipeline.store import OutputError, write_json

    _, params = _load_params(args.params)
    try:
        if args.command == "train":
            from pipeline.classify.train import train

            train(args.labels, args.input, Path(args.model_dir), params, splits=_split_list(args.splits),
                  select_splits=_split_list(args.select_splits), eval_split=args.eval_split or None, recipes=_split_list(args.recipes),
                  log=lambda m: print(f"frstance: {m}", file=sys.stderr))
            print(f"frstance: model written to {args.model_dir} (model.joblib, metadata.json, MODEL_CARD.md)")
        elif args.command == "evaluate":
            from pipeline.classify.train import evaluate_model

            model_dir = args.model_dir or params.classify.model_dir
            _say_what_is_trusted(_with_model_dir(params, model_dir))
            metrics = evaluate_model(args.labels, args.input, Path(model_dir) if model_dir else None,
                                     args.split, params)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            write_json(metrics, Path(args.out))
            parts = []
            if "topic" in metrics:
                parts.append(f"topic F1 {metrics['topic']['f1']:.3f}")
            if "stance" in metrics:
                parts.append(f"stance macro-F1 {metrics['stance']['macro_f1']:.3f}, "
                             f"ECE {metrics['stance']['ece']:.3f}")
            print(f"frstance: {args.split}: {'; '.join(parts)} -> {args.out}")
        else:
            from pipeline.classify.active import select_to_label

            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            n = select_to_label(Path(args.results), args.n, Path(args.out), args.labels, params)
            print(f"frstance: {n} articles to label -> {args.out}")
    except (LabelError, TrainError, InputError) as exc:
        raise UsageError(str(exc)) from None
    except (ModelError, EmbeddingError, OutputError, OSError) as exc:
        print(f"frstance: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from pipeline.analysis import ResultsError
    from pipeline.report.render import write_report

    try:
        out = Path(args.out)
        (out if args.format == "csv" else out.parent).mkdir(parents=True, exist_ok=True)
        written = write_report(Path(args.results), out, args.format)
    except ResultsError as exc:
        print(f"frstance: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"frstance: error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"frstance: {args.format} report of {args.results} -> {', '.join(map(str, written))}")
    return 0


def _load_params(path: str | None):
    from pipeline.config import ParamsError, load_params

    if path is None and Path(DEFAULT_PARAMS).is_file():
        path = DEFAULT_PARAMS
    try:
        return path, load_params(path)
    except ParamsError as exc:
        raise UsageError(str(exc)) from None


def _extract_quotes(args: argparse.Namespace) -> int:
    from pipeline.extract import quote_model
    from pipeline.extract.evaljsonl import JsonlInputError, extract_jsonl
    from pipeline.extract.errors import NlpError

    _, params = _load_params(args.params)
    model_dir = args.model_dir or params.quotes.model_dir
    try:
        model = quote_model.load(Path(model_dir) if model_dir else None)
        counts = extract_jsonl(Path(args.jsonl), Path(args.out), params.nlp, model)
    except JsonlInputError as exc:
        raise UsageError(str(exc)) from None
    except (quote_model.ModelError, NlpError, OSError) as exc:
        print(f"frstance: error: {exc}", file=sys.stderr)
        return 1
    print(f"frstance: {counts['quotes']} attributions in {counts['documents']} documents -> {args.out}")
    return 0


def _extract(args: argparse.Namespace) -> int:
    from pipeline.classify.embed import EmbeddingError
    from pipeline.classify.model_store import ModelError as StanceModelError
    from pipeline.extract.errors import NlpError
    from pipeline.extract.quote_model import ModelError
    from pipeline.batches import WorkerMismatch
    from pipeline.engine import EngineError
    from pipeline.ingest.discover import InputError
    from pipeline.run import extract_results
    from pipeline.store import OutputError

    params_file, params = _load_params(args.params)
    params = _with_cache(_with_model_dir(params, args.model_dir), args)
    _say_what_is_trusted(params)
    try:
        manifest = extract_results(Path(args.results), params, params_file=params_file, workers=args.workers,
                                   engine=args.engine, scheduler=args.scheduler,
                                   progress=not args.quiet and sys.stderr.isatty())
    except InputError as exc:
        raise UsageError(str(exc)) from None
    except (OutputError, ModelError, StanceModelError, EmbeddingError, NlpError, EngineError, WorkerMismatch) as exc:
        print(f"frstance: error: {exc}", file=sys.stderr)
        return 1
    print(f"frstance: {manifest['articles']} articles parsed{_extract_summary(manifest['counts'])} -> {args.results}")
    return 0


def _summary(manifest: dict, out: Path) -> str:
    c = manifest["counts"]
    reasons = ", ".join(f"{k}: {v}" for k, v in c["quarantined_by_reason"].items())
    return (
        f"frstance: {c['inputs_read']} inputs read from {c['files']} files = {c['ingested']} ingested "
        f"({c['near_duplicates']} near-duplicates, {c['with_warnings']} with warnings) + "
        f"{c['duplicates']} duplicates + {c['quarantined']} quarantined{f' ({reasons})' if reasons else ''}"
        f"{_extract_summary(c)} -> {out}"
    )


def _extract_summary(c: dict) -> str:
    x = c.get("extract")
    if not x:
        return ""
    out = f"; {x['quotes']} attributions ({x['quotes_with_speaker']} with a speaker), {x['entities']} entity mentions"
    if "on_topic" in x:
        st = ", ".join(f"{k} {v}" for k, v in x["stance"].items())
        out += f"; {x['on_topic']} on facial recognition ({st})"
    return out


def _run(args: argparse.Namespace) -> int:
    from pipeline.classify.embed import EmbeddingError
    from pipeline.classify.model_store import ModelError as StanceModelError
    from pipeline.extract.errors import NlpError
    from pipeline.batches import WorkerMismatch
    from pipeline.engine import EngineError
    from pipeline.extract.quote_model import ModelError
    from pipeline.ingest.discover import InputError
    from pipeline.run import run
    from pipeline.store import OutputError

    if args.command == "extract-quotes":
        return _extract_quotes(args)
    if args.command == "extract":
        return _extract(args)
    if args.command == "report":
        return _report(args)
    if args.command in ("train", "evaluate", "label"):
        return _classify_command(args)
    params_file, params = _load_params(args.params)
    params = _with_cache(_with_model_dir(params, getattr(args, "model_dir", None)), args)
    if args.command != "ingest":
        _say_what_is_trusted(params)
    inputs = args.input
    if not inputs:
        if not Path(DEFAULT_INPUT).is_dir():
            raise UsageError(f"no --input given and there is no {DEFAULT_INPUT}/ folder here")
        inputs = [DEFAULT_INPUT]
    out = Path(args.out)
    try:
        manifest = run(inputs, out, params, params_file=params_file, workers=args.workers,
                       engine=getattr(args, "engine", None), scheduler=getattr(args, "scheduler", None),
                       progress=not args.quiet and sys.stderr.isatty(), command=args.command,
                       stages=("ingest",) if args.command == "ingest" else ("ingest", "extract"))
    except InputError as exc:
        raise UsageError(str(exc)) from None
    except (OutputError, ModelError, StanceModelError, EmbeddingError, NlpError, EngineError, WorkerMismatch) as exc:
        print(f"frstance: error: {exc}", file=sys.stderr)
        return 1
    print(_summary(manifest, out))
    counts = manifest["counts"]
    if counts["files"] == 0:
        hidden = f" ({counts['skipped_hidden']} hidden entries skipped)" if counts["skipped_hidden"] else ""
        print(f"frstance: warning: no input files found in {', '.join(inputs)}{hidden}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("missing COMMAND (run, ingest, extract, extract-quotes, train, evaluate, label, report); see frstance --help")
        return _run(args)
    except UsageError as exc:
        print(f"frstance: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("frstance: interrupted", file=sys.stderr)
        return 130
