"""A folder of hostile and broken inputs, written by us: every file is accounted for with the
right reason, nothing stops the batch, no code in the inputs runs, and the counts add up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.config import Params, params_from_dict
from pipeline.run import run

GOOD = '---\ntitle: "A good record"\nexcerpt: "It ingests."\nwebUrl: "https://good.example/a"\n---\n'


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join(f"*a{i - 1}" for _ in range(9))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "---\ntitle: bomb\n" + "\n".join(lines) + "\n---\n"


def make_hostile(folder: Path, marker: Path) -> dict[str, tuple[str, int | None]]:
    """Write the hostile folder; return {file name: (expected reason, line)} for quarantined ones."""
    folder.mkdir()
    w = lambda name, data: (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())  # noqa
    expect: dict[str, tuple[str, int | None]] = {}
    w("good.md", GOOD)
    w("empty.txt", b""); expect["empty.txt"] = ("empty", None)
    w("blank.md", "  \n\n \t\n"); expect["blank.md"] = ("empty", None)
    w("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256))); expect["image.txt"] = ("binary", None)
    w("nul.md", b"title\x00\x00\x00 body"); expect["nul.md"] = ("binary", None)
    w("latin1.txt", "caf\xe9 au lait".encode("latin-1")); expect["latin1.txt"] = ("undecodable", None)
    w("bomb.md", _bomb()); expect["bomb.md"] = ("yaml_hostile", None)
    w("deep.md", "---\ntitle: " + "[" * 100_000 + "]" * 100_000 + "\n---\n")
    expect["deep.md"] = ("yaml_hostile", None)
    w("pytag.md", f'---\ntitle: !!python/object/apply:os.system ["touch {marker}"]\n---\n')
    expect["pytag.md"] = ("yaml_error", None)
    w("pyname.md", f"---\ntitle: x\nx: !!python/object/new:subprocess.Popen [[touch, {marker}]]\n---\n")
    expect["pyname.md"] = ("yaml_error", None)
    w("broken_yaml.md", '---\ntitle: "ok"\nexcerpt: [unclosed\nwebUrl: x\n---\n')
    expect["broken_yaml.md"] = ("yaml_error", None)
    w("unclosed.md", '---\ntitle: "never closed"\nexcerpt: "x"\n'); expect["unclosed.md"] = ("front_matter_unclosed", None)
    w("list_fm.md", "---\n- a\n- b\n---\n"); expect["list_fm.md"] = ("front_matter_not_mapping", None)
    w("no_text.md", '---\nwebUrl: "https://no-text.example/"\n---\n'); expect["no_text.md"] = ("no_text", None)
    w("bad_related.md", '---\ntitle: "Parent"\nexcerpt: "x"\nwebUrl: "https://good.example/b"\n'
                        'related:\n  - just a string\n---\n')
    w("lines.jsonl", "\n".join([
        json.dumps({"url": "https://j.example/1", "title": "Fine", "text": "A fine line."}),
        "this is not json",
        "[1, 2, 3]",
        json.dumps({"foo": "no article fields"}),
        '{"title": "nested", "text": ' + "[" * 50_000 + "]" * 50_000 + "}",
        "",
        json.dumps({"title": "Late date", "text": "x", "published": "sometime last spring"}),
    ]) + "\n")
    w("nocols.csv", "a,b,c\n1,2,3\n"); expect["nocols.csv"] = ("no_usable_columns", 1)
    w("ragged.csv", "title,text\nOne,Body\nTwo,Body,extra\n")
    w("many_tags.html", "<script>x <!-- " * 50_000)  # unclosed blocks: must stay linear, and ingest
    w("header_only.csv", "title,text\n"); expect["header_only.csv"] = ("empty", None)
    w("empty_array.json", "[]"); expect["empty_array.json"] = ("empty", None)
    pq.write_table(pa.table({"title": pa.array([], pa.string())}), folder / "no_rows.parquet")
    expect["no_rows.parquet"] = ("empty", None)
    w("not_json.json", "{broken"); expect["not_json.json"] = ("invalid_json", None)
    w("utf16.txt", "\ufeffPlain UTF-16 body “quoted”.".encode("utf-16-le"))
    good_pq = folder / "truncated.parquet"
    pq.write_table(pa.table({"title": ["x"] * 1000, "text": ["body " * 20] * 1000}), good_pq)
    data = good_pq.read_bytes()
    good_pq.write_bytes(data[: len(data) // 2]); expect["truncated.parquet"] = ("parquet_error", None)
    (folder / "huge.txt").write_bytes(b"word " * (10 * 1024 * 1024))  # 50 MB
    expect["huge.txt"] = ("too_large", None)
    os.symlink(folder / "missing-target", folder / "dangling.txt"); expect["dangling.txt"] = ("unreadable", None)
    os.mkfifo(folder / "pipe.txt"); expect["pipe.txt"] = ("unreadable", None)
    sub = folder / "sub"
    sub.mkdir()
    os.symlink(folder, sub / "loop")  # a symlink loop must not hang the walk
    (sub / "plain.txt").write_text("Plain body text “with quotes”.", encoding="utf-8")
    return expect


@pytest.fixture()
def hostile(tmp_path):
    marker = tmp_path / "PWNED"
    folder = tmp_path / "hostile"
    expect = make_hostile(folder, marker)
    return folder, expect, marker


def test_every_hostile_file_is_accounted_for_and_no_code_runs(hostile, tmp_path):
    folder, expect, marker = hostile
    out = tmp_path / "out"
    manifest = run([str(folder)], out, Params(), workers=1, stages=("ingest",))
    assert not marker.exists(), "a YAML tag executed code"
    art = pq.read_table(out / "articles.parquet").to_pylist()
    q = pq.read_table(out / "quarantine.parquet").to_pylist()
    by_name: dict[str, list[dict]] = {}
    for row in q:
        by_name.setdefault(Path(row["source_path"]).name, []).append(row)
    for name, (reason, line) in expect.items():
        rows = by_name.get(name)
        assert rows, f"{name} is not in quarantine"
        assert rows[0]["reason"] == reason, (name, rows)
        assert rows[0]["detail"]
        if line is not None:
            assert rows[0]["line"] == line
    ingested = {Path(s["path"]).name for a in art for s in a["sources"]}
    assert ingested == {"good.md", "bad_related.md", "lines.jsonl", "ragged.csv", "plain.txt", "utf16.txt",
                        "many_tags.html"}
    assert any(a["text"] == "Plain UTF-16 body “quoted”." for a in art)
    # every file written is either ingested or quarantined
    on_disk = {p.name for p in folder.rglob("*") if p.name not in ("sub", "loop")}
    assert on_disk <= ingested | set(by_name)
    # record-level problems carry their line / item
    jl = {r["line"]: r["reason"] for r in by_name["lines.jsonl"]}
    assert jl == {2: "invalid_json", 3: "not_an_object", 4: "no_text", 5: "invalid_json"}
    assert [(r["reason"], r["line"]) for r in by_name["ragged.csv"]] == [("csv_error", 3)]
    assert [(r["reason"], r["item"]) for r in by_name["bad_related.md"]] == [("not_an_object", "related[0]")]
    late = next(a for a in art if a["title"] == "Late date")
    assert late["published"] is None and "cannot parse date" in late["warnings"][0]
    assert next(r for r in by_name["broken_yaml.md"])["line"] == 4
    c = manifest["counts"]
    assert c["inputs_read"] == c["ingested"] + c["duplicates"] + c["quarantined"]
    assert c["quarantined"] == len(q) and c["ingested"] == len(art)


def test_the_cli_completes_with_exit_0_on_hostile_input(hostile, tmp_path):
    folder, _, marker = hostile
    out = tmp_path / "cli-out"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "ingest", "--input", str(folder), "--out", str(out),
                           "--quiet", "--workers", "2"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "quarantined" in proc.stdout
    assert not marker.exists()
    manifest = json.loads((out / "run_manifest.json").read_text())
    c = manifest["counts"]
    assert c["inputs_read"] == c["ingested"] + c["duplicates"] + c["quarantined"] > 0


def test_oversized_jsonl_line_and_article_are_quarantined_without_stopping(tmp_path):
    params = params_from_dict({"ingest": {"max_line_bytes": 2000, "max_article_chars": 500}})
    p = tmp_path / "big.jsonl"
    p.write_text("\n".join([
        json.dumps({"title": "small", "text": "ok"}),
        json.dumps({"title": "long line", "text": "x " * 5000}),
        json.dumps({"title": "long article", "text": "y " * 400}),
        json.dumps({"title": "after", "text": "still read"}),
    ]) + "\n", encoding="utf-8")
    run([str(p)], tmp_path / "o", params, workers=1)
    q = pq.read_table(tmp_path / "o" / "quarantine.parquet").to_pylist()
    assert [(r["line"], r["reason"]) for r in q] == [(2, "too_large"), (3, "too_large")]
    titles = [a["title"] for a in pq.read_table(tmp_path / "o" / "articles.parquet").to_pylist()]
    assert sorted(titles) == ["after", "small"]
