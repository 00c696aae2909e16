"""The report as a reader sees it (headless Chromium), the exports, the actors and the notebooks.

The demo corpus is run once. Hostile titles in the report and formula cells in the exports are
tested in tests/reliability/test_safe_outputs.py; the browser fixture is in conftest.py.
"""

from __future__ import annotations


import nbformat
import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE, frstance_ok as frstance, open_page as _open
from pipeline.actors import actors_table, network_gexf
from pipeline.analysis import ResultsError, load_results, stance_over_time, wilson
from pipeline.schemas import ACTORS, QUOTES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "results"
    frstance("run", "--input", SAMPLE, "--out", out, "--quiet")
    frstance("report", "--results", out, "--out", out / "report.html")
    return out


def test_report_renders_in_chromium_without_errors(demo, browser, tmp_path):
    b = _open(browser, demo / "report.html")
    errors = [e for e in b.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    from selenium.webdriver.common.by import By

    headings = [h.text for h in b.find_elements(By.TAG_NAME, "h2")]
    for h in ("Run summary", "Stance over time", "Stance by outlet", "Who says what",
              "Latest on-topic articles", "Subtopics", "Entity co-mentions"):
        assert h in headings
    images = b.find_elements(By.CSS_SELECTOR, "img.chart")
    assert len(images) == 3
    assert all(b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 300", i) for i in images)
    shot = tmp_path / "report.png"
    assert b.save_screenshot(str(shot))
    from PIL import Image

    img = Image.open(shot).convert("L")
    assert len(set(img.get_flattened_data())) > 50, "blank page"
    html = (demo / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html.split("<body>", 1)[1].split("</table>", 1)[0]  # nothing fetched
    assert "<script" not in html and "src=\"http" not in html


def test_run_writes_actors_and_network(demo):
    actors = pq.read_table(demo / "actors.parquet")
    assert actors.schema.equals(ACTORS.schema, check_metadata=False)
    rows = actors.to_pylist()
    assert len({r["actor_id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["n_ban"] + r["n_oversight"] + r["n_neutral"] <= r["n_quotes"]
        assert r["n_articles"] <= r["n_quotes"]
    import networkx as nx

    g = nx.read_gexf(demo / "actors.gexf")
    assert {"stance:ban", "stance:oversight", "stance:neutral"} <= set(g.nodes)
    assert g.number_of_edges() > 0


def _quote(article, name, kind="person", stance="ban", org=None):
    return {"quote_id": f"{article}-{name}", "article_id": article, "quote_index": 0, "kind": "direct",
            "content": "x", "content_start": 0, "content_end": 1, "content_pieces": [{"start": 0, "end": 1}],
            "speaker_name": name, "speaker_type": kind, "speaker_org": org, "sentence": 0, "origin": "t",
            "score": 1.0, "model_version": "m", "stance": stance, "p_ban": 0.7 if stance == "ban" else 0.1,
            "p_oversight": 0.2 if stance == "ban" else 0.8, "p_neutral": 0.1, "stance_model_version": "s"}


def test_actors_merge_across_articles():
    quotes = QUOTES.from_rows([
        _quote("a1", "Evan Greer", org="Fight for the Future"), _quote("a2", "Greer"),
        _quote("a3", "the ACLU", "organisation"), _quote("a4", "American Civil Liberties Union", "organisation"),
        _quote("a5", "ACLU", "organisation", stance="oversight"),
        _quote("a6", "Smith"), _quote("a6", "Brad Smith"), _quote("a7", "Anna Smith"),   # ambiguous surname
        _quote("a8", "Marcus Feld"), _quote("a9", "Marcus Feld"), _quote("a9", "Marcus Feld", "organisation"),
        _quote("a9", "he"),
    ])
    actors = {r["name"]: r for r in actors_table(quotes).to_pylist()}
    assert actors["Evan Greer"]["n_quotes"] == 2 and actors["Evan Greer"]["n_articles"] == 2
    assert actors["Evan Greer"]["organisation"] == "Fight for the Future"
    aclu = actors["American Civil Liberties Union"]
    assert aclu["n_quotes"] == 3 and aclu["type"] == "organisation" and aclu["n_oversight"] == 1
    assert aclu["stance"] == "ban"
    assert "Smith" in actors and "Brad Smith" in actors and "Anna Smith" in actors  # not guessed
    assert actors["Marcus Feld"]["n_quotes"] == 3 and actors["Marcus Feld"]["type"] == "person"
    assert "he" not in actors
    assert b"<gexf" in network_gexf(actors_table(quotes))


def test_analysis_helpers(demo, tmp_path):
    lo, hi = wilson([5], [10])
    assert lo[0] == pytest.approx(0.2366, abs=1e-3) and hi[0] == pytest.approx(0.7634, abs=1e-3)
    r = load_results(demo)
    months = stance_over_time(r, "M")
    assert months["n"].sum() == r.on_topic["published"].notna().sum()
    assert ((months["low_ban"] <= months["share_ban"]) & (months["share_ban"] <= months["high_ban"])).all()
    with pytest.raises(ResultsError, match="frstance run"):
        load_results(tmp_path)


NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_without_outputs():
    assert len(NOTEBOOKS) == 3
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code"), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom_on_the_demo_outputs(path, demo, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("FRSTANCE_RESULTS", str(demo))
    monkeypatch.setenv("FRSTANCE_METRICS", str(demo / "no-metrics.json"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert sum(1 for c in nb.cells if c.cell_type == "code" and c.outputs) >= 4
