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


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", "-i", nargs="+", action="extend", metavar="PATH",
                   help=f"files, folders (recursive) or globs; default: {DEFAULT_INPUT}/")
    p.add_argument("--out", "-o", metavar="DIR", default=DEFAULT_OUT,
                   help=f"output folder (default: {DEFAULT_OUT}/)")
    p.add_argument("--params", metavar="FILE",
                   help=f"parameters file (default: ./{DEFAULT_PARAMS} if present, else built-in defaults)")
    p.add_argument("--workers", "-w", type=_positive_int, metavar="N",
                   help="worker processes (default: run.workers in params, else every core)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="frstance", description="Where the news stands on regulating facial recognition.")
    parser.add_argument("--version", action="version", version=f"frstance {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser("run", help="run every stage over the inputs and write all tables")
    _add_run_args(run)
    ingest = sub.add_parser("ingest", help="read inputs into articles.parquet and quarantine.parquet")
    _add_run_args(ingest)
    ex = sub.add_parser("extract", help="parse RESULTS/articles.parquet into entities.parquet and quotes.parquet")
    ex.add_argument("--results", "-r", metavar="DIR", default=DEFAULT_OUT,
                    help=f"folder holding articles.parquet (default: {DEFAULT_OUT}/)")
    ex.add_argument("--params", metavar="FILE", help=f"parameters file (default: ./{DEFAULT_PARAMS} if present)")
    ex.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    xq = sub.add_parser("extract-quotes", help="attributions for JSONL lines {doc_id, text}, in the "
                        "format of score_quotes.py")
    xq.add_argument("--jsonl", required=True, metavar="IN", help='input lines {"doc_id": ..., "text": ...}')
    xq.add_argument("--out", required=True, metavar="OUT", help="output JSONL (written atomically)")
    xq.add_argument("--params", metavar="FILE", help=f"parameters file (default: ./{DEFAULT_PARAMS} if present)")
    xq.add_argument("--model-dir", metavar="DIR", help="attribution model folder (default: quotes.model_dir "
                    "in params, else the shipped models/quotes)")
    return parser


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
    from pipeline.extract.nlp import NlpError

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
    from pipeline.extract.nlp import NlpError
    from pipeline.extract.quote_model import ModelError
    from pipeline.run import extract_results
    from pipeline.store import OutputError

    params_file, params = _load_params(args.params)
    try:
        manifest = extract_results(Path(args.results), params, params_file=params_file,
                                   progress=not args.quiet and sys.stderr.isatty())
    except (OutputError, ModelError, NlpError) as exc:
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
    return f"; {x['quotes']} attributions ({x['quotes_with_speaker']} with a speaker), {x['entities']} entity mentions"


def _run(args: argparse.Namespace) -> int:
    from pipeline.extract.nlp import NlpError
    from pipeline.extract.quote_model import ModelError
    from pipeline.ingest.discover import InputError
    from pipeline.run import run
    from pipeline.store import OutputError

    if args.command == "extract-quotes":
        return _extract_quotes(args)
    if args.command == "extract":
        return _extract(args)
    params_file, params = _load_params(args.params)
    inputs = args.input
    if not inputs:
        if not Path(DEFAULT_INPUT).is_dir():
            raise UsageError(f"no --input given and there is no {DEFAULT_INPUT}/ folder here")
        inputs = [DEFAULT_INPUT]
    out = Path(args.out)
    try:
        manifest = run(inputs, out, params, params_file=params_file, workers=args.workers,
                       progress=not args.quiet and sys.stderr.isatty(), command=args.command,
                       stages=("ingest",) if args.command == "ingest" else ("ingest", "extract"))
    except InputError as exc:
        raise UsageError(str(exc)) from None
    except (OutputError, ModelError, NlpError) as exc:
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
            raise UsageError("missing COMMAND (run, ingest, extract, extract-quotes); see frstance --help")
        return _run(args)
    except UsageError as exc:
        print(f"frstance: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("frstance: interrupted", file=sys.stderr)
        return 130
