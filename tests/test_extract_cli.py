"""`frstance extract-quotes` and `frstance extract` as a user runs them, scored on real gold."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE
from pipeline.schemas import ENTITIES, QUOTES


def frstance(*args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_extract_quotes_writes_the_scorer_format_for_every_document(tmp_path):
    texts = [p.read_text(encoding="utf-8") for p in sorted((SAMPLE / "plaintext").glob("*.txt"))]
    rows = [{"doc_id": f"d{i}", "text": t} for i, t in enumerate(texts)] + [{"doc_id": "empty", "text": ""}]
    inp = _write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "not-made-yet" / "pred.jsonl"  # --out's folder is created
    proc = frstance("extract-quotes", "--jsonl", str(inp), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    preds = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [p["doc_id"] for p in preds] == [r["doc_id"] for r in rows]
    assert sum(len(p["quotes"]) for p in preds) >= 2 * len(texts)
    for p, r in zip(preds, rows):
        n = len(r["text"])
        for q in p["quotes"]:
            assert all(0 <= s < e <= n for s, e in q["content"])
            for key in ("speaker", "cue"):
                if q[key] is not None:
                    s, e = q[key]
                    assert 0 <= s < e <= n
    assert preds[-1]["quotes"] == []


def test_extract_quotes_refuses_a_bad_line_naming_it(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"doc_id": "a", "text": "ok"}\n{"doc_id": "b"}\n', encoding="utf-8")
    proc = frstance("extract-quotes", "--jsonl", str(inp), "--out", str(tmp_path / "o.jsonl"))
    assert proc.returncode == 2
    assert "in.jsonl:2" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_a_tampered_model_is_refused_with_a_clear_message(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(REPO / "models" / "quotes", model)
    blob = bytearray((model / "attribution.json").read_bytes())
    blob[len(blob) // 2] ^= 0x01
    (model / "attribution.json").write_bytes(bytes(blob))
    inp = _write_jsonl(tmp_path / "in.jsonl", [{"doc_id": "a", "text": '"Hi," she said.'}])
    proc = frstance("extract-quotes", "--jsonl", str(inp), "--out", str(tmp_path / "o.jsonl"),
                    "--model-dir", str(model))
    assert proc.returncode == 1
    assert "does not match the sha256" in proc.stderr and "Traceback" not in proc.stderr


def test_extract_reads_articles_and_writes_entities_and_quotes(tmp_path):
    out = tmp_path / "o"
    proc = frstance("ingest", "--input", str(SAMPLE / "plaintext"), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert not (out / QUOTES.file).exists()
    proc = frstance("extract", "--results", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    quotes = pq.read_table(out / QUOTES.file)
    ents = pq.read_table(out / ENTITIES.file)
    assert quotes.schema.equals(QUOTES.schema, check_metadata=False)
    assert ents.schema.equals(ENTITIES.schema, check_metadata=False)
    assert quotes.num_rows > 10 and ents.num_rows > 10
    manifest = json.loads((out / "extract_manifest.json").read_text())
    assert manifest["tables"]["quotes"]["rows"] == quotes.num_rows


def test_extract_without_articles_says_what_to_do(tmp_path):
    proc = frstance("extract", "--results", str(tmp_path))
    assert proc.returncode == 1 and "frstance ingest" in proc.stderr


@pytest.mark.slow
def test_polnear_dev_scores_beat_textacy(shared, tmp_path):
    """The README's measuring commands, end to end, on PolNeAR dev (text only goes in)."""
    gold = shared / "eval" / "polnear" / "dev.jsonl"
    docs = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    inp = _write_jsonl(tmp_path / "dev-text.jsonl", [{"doc_id": d["doc_id"], "text": d["text"]} for d in docs])
    out = tmp_path / "pred.jsonl"
    proc = frstance("extract-quotes", "--jsonl", str(inp), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    score = subprocess.run([sys.executable, str(shared / "eval" / "score_quotes.py"), "--gold", str(gold),
                            "--pred", str(out), "--json"], capture_output=True, text=True, timeout=300)
    assert score.returncode == 0, score.stderr
    res = json.loads(score.stdout)
    textacy = json.loads((shared / "eval" / "polnear" / "textacy-dev.json").read_text())
    ours_direct, ours_all = res["direct"]["e2e_f1"], res["all"]["e2e_f1"]
    assert ours_direct > textacy["direct"]["e2e_f1"] + 0.1
    assert ours_all > textacy["all"]["e2e_f1"] + 0.3
    assert res["all"]["content_precision"] >= 0.70


def test_the_seed_article_through_frstance_run(shared, tmp_path):
    """Issue 3's seed checks, read from the quotes table `frstance run` writes."""
    out = tmp_path / "o"
    proc = frstance("run", "--input", str(shared / "seeds"), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    rows = pq.read_table(out / QUOTES.file).to_pylist()
    articles = {r["article_id"]: r["text"] for r in pq.read_table(out / "articles.parquet").to_pylist()}

    def speaker_of(words: str) -> tuple:
        for r in rows:
            text = articles[r["article_id"]]
            if any(words in text[p["start"]:p["end"]] for p in r["content_pieces"]):
                assert r["content"] == " … ".join(text[p["start"]:p["end"]] for p in r["content_pieces"])
                return r["speaker_name"], r["speaker_role"], r["speaker_org"]
        raise AssertionError(f"no quote holds {words!r}")

    greer = ("Evan Greer", "deputy director", "Fight for the Future")
    assert speaker_of("should not be writing the laws that govern it") == greer
    assert speaker_of("we should be skeptical of claims") == greer
    assert speaker_of("helps law enforcement agencies save time") == ("James Burch", "president",
                                                                     "National Police Foundation")
    assert speaker_of("the software helps law enforcement identify")[0] == "Julie Cordua"
    assert speaker_of("stopped using its facial-recognition software")[0] == "Sean Whitcomb"
    letter = speaker_of("bans would keep this important tool")[0]
    assert "letter" in letter or "39 groups" in letter
    ids = [r["quote_id"] for r in rows]
    assert len(ids) == len(set(ids))
