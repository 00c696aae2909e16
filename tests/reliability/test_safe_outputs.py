"""Outputs are safe to open: article text is hostile input. A corpus written here has
``<script>`` and ``<img onerror>`` in its titles, outlet names and quotes, a formula in a
title, and path-like strings everywhere a careless tool would build a file name from:
the report shows them as text and runs nothing in headless Chromium, the CSV and XLSX
exports neutralise the formula, and the output folder holds only the fixed file names."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import frstance_ok as frstance, open_page as _open

pytestmark = pytest.mark.slow
# Ingest strips HTML tags, but entity-escaped markup decodes to literal "<script>" text, which
# is what reaches the tables: exactly what a careless report would paste into its HTML.
HOSTILE = ['&lt;script&gt;window.__pwned = 1&lt;/script&gt;Council bans facial recognition',
           '&lt;img src=x onerror="window.__pwned = 2"&gt;Police face recognition moratorium',
           '=HYPERLINK("http://evil.test","click") facial recognition ban vote']


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    with open(d / "feed.jsonl", "w", encoding="utf-8") as f:
        for i, title in enumerate(HOSTILE):
            f.write(json.dumps({"url": f"https://hostile.test/{i}", "title": title,
                                "provider": '&lt;script&gt;window.__pwned = 3&lt;/script&gt;Evil Wire',
                                "published": f"2024-0{i + 1}-02T10:00:00Z",
                                "text": "The city council voted to ban police use of facial recognition. "
                                        f"\"Ban it now &lt;script&gt;window.__pwned = 4&lt;/script&gt;,\" said Ann Lee, director of {title}."}) + "\n")
    out = d / "results"
    frstance("run", "--input", d / "feed.jsonl", "--out", out, "--quiet")
    frstance("report", "--results", out, "--out", out / "report.html")
    return out


def test_hostile_strings_show_as_text_and_run_nothing(hostile, browser):
    b = _open(browser, hostile / "report.html")
    assert b.execute_script("return window.__pwned === undefined")
    body = b.find_element("tag name", "body").text
    assert "<script>window.__pwned = 1</script>Council bans facial recognition" in body
    assert '<img src=x onerror="window.__pwned = 2">' in body
    assert "<script>window.__pwned = 3</script>Evil Wire" in body
    html = (hostile / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<img src=x" not in html


def test_exports_neutralise_formulas(hostile, tmp_path):
    frstance("report", "--results", hostile, "--out", tmp_path / "csv", "--format", "csv")
    with open(tmp_path / "csv" / "articles.csv", encoding="utf-8") as f:
        titles = [r["title"] for r in csv.DictReader(f)]
    assert "'=HYPERLINK(\"http://evil.test\",\"click\") facial recognition ban vote" in titles
    assert not any(t.startswith(("=", "+", "-", "@")) for t in titles)
    frstance("report", "--results", hostile, "--out", tmp_path / "r.xlsx", "--format", "xlsx")
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert set(wb.sheetnames) == {"articles", "quotes", "actors", "subtopics"}
    cells = [c.value for row in wb["articles"].iter_rows() for c in row if isinstance(c.value, str)]
    assert not any(v.startswith("=") for v in cells)
    assert all(c.data_type != "f" for row in wb["articles"].iter_rows() for c in row)



OUTPUT_FILES = {"articles.parquet", "quarantine.parquet", "entities.parquet", "quotes.parquet",
                "predictions.parquet", "topics.parquet", "topic_terms.parquet", "actors.parquet", "actors.gexf",
                "run_manifest.json", "report.html", ".frstance-cache"}


def test_no_output_path_comes_from_the_input(hostile, tmp_path):
    """Ids, titles, URLs and source names with ``../`` and absolute paths in them: the output
    folder holds the fixed names only and nothing is written outside it."""
    d = tmp_path / "in"
    d.mkdir()
    evil = "../../../../tmp/frstance-escape"
    with open(d / "feed.jsonl", "w", encoding="utf-8") as f:
        for i in range(3):
            f.write(json.dumps({"id": f"{evil}-{i}", "url": f"file:///{evil}/{i}", "title": f"{evil}/report.html",
                                "provider": "/etc/passwd", "published": "2024-01-02",
                                "text": f"Police use of facial recognition faces a ban, said {evil}."}) + "\n")
    out = tmp_path / "out"
    frstance("run", "--input", d, "--out", out, "--quiet")
    frstance("report", "--results", out, "--out", out / "report.html")
    assert {p.name for p in out.iterdir()} <= OUTPUT_FILES
    assert not list(Path("/tmp").glob("frstance-escape*")) and not list(tmp_path.rglob("frstance-escape*"))
    assert {p.name for p in hostile.iterdir()} <= OUTPUT_FILES
