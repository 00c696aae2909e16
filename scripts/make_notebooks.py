"""Write the analyst notebooks in notebooks/ (committed without outputs).

    python scripts/make_notebooks.py

Each notebook reads a run folder through pipeline.analysis.load_results: the folder in
$FRSTANCE_RESULTS, else ../data/processed (the demo run: `frstance run`).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks"

SETUP = '''import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from pipeline import analysis
from pipeline.report.charts import COLOURS

RESULTS = Path(os.environ.get("FRSTANCE_RESULTS", "../data/processed"))
r = analysis.load_results(RESULTS)
print(f"{len(r.articles)} articles, {len(r.on_topic)} on facial recognition, {len(r.quotes)} attributions, "
      f"{len(r.actors)} actors from {RESULTS}")'''

LANDSCAPE = [
    new_markdown_cell("# The stance landscape\n\nShare of **ban / oversight / neutral** among on-topic "
                      "articles, over time and by outlet. Shares count predicted labels, with 95% Wilson "
                      "intervals; `expected_*` is the mean calibrated probability, the share the model "
                      "expects once its uncertainty is counted. Run `frstance run` first (or set "
                      "`FRSTANCE_RESULTS` to a run folder)."),
    new_code_cell(SETUP),
    new_markdown_cell("## Over time (by quarter)"),
    new_code_cell('''by_q = analysis.stance_over_time(r, freq="Q")
by_q[["period", "n"] + [f"{p}_{s}" for s in ("ban", "oversight", "neutral") for p in ("share", "low", "high")]].round(2)'''),
    new_code_cell('''fig, ax = plt.subplots(figsize=(10, 4))
for s in ("ban", "oversight", "neutral"):
    ax.plot(by_q["period"], by_q[f"share_{s}"], marker="o", color=COLOURS[s], label=s)
    ax.fill_between(by_q["period"], by_q[f"low_{s}"], by_q[f"high_{s}"], color=COLOURS[s], alpha=0.15)
ax.set_ylim(0, 1); ax.set_ylabel("Share of on-topic articles"); ax.set_xlabel("Quarter")
ax.set_title("Stance over time, with 95% intervals"); ax.legend(frameon=False)
plt.show()'''),
    new_markdown_cell("## Predicted labels against expected shares\n\nWhere the two differ, many articles "
                      "sit near a decision boundary."),
    new_code_cell('''by_q[["period", "n", "share_ban", "expected_ban", "share_oversight", "expected_oversight"]].round(2)'''),
    new_markdown_cell("## By outlet"),
    new_code_cell('''outlets = analysis.stance_by_outlet(r, top=15)
outlets[["outlet", "n", "share_ban", "low_ban", "high_ban", "share_oversight", "share_neutral"]].round(2)'''),
    new_code_cell('''fig, ax = plt.subplots(figsize=(9, 0.4 * len(outlets) + 1.5))
left = pd.Series(0.0, index=outlets.index)
for s in ("ban", "oversight", "neutral"):
    ax.barh(outlets["outlet"], outlets[f"share_{s}"], left=left, color=COLOURS[s], label=s)
    left += outlets[f"share_{s}"]
ax.invert_yaxis(); ax.set_xlabel("Share of the outlet's on-topic articles"); ax.set_title("Stance by outlet")
ax.legend(frameon=False, loc="lower right"); plt.show()'''),
]

ACTORS = [
    new_markdown_cell("# Who says what\n\nActors (people and organisations quoted in the run, merged across "
                      "articles) by the stance of their quotes, their quotes, and how positions shift. "
                      "Quote stance is the article model applied to the quoted words: a lean, not a coded "
                      "position; read the quotes."),
    new_code_cell(SETUP),
    new_markdown_cell("## The most-quoted actors"),
    new_code_cell('''cols = ["name", "type", "organisation", "role", "n_quotes", "n_articles", "n_ban", "n_oversight",
        "n_neutral", "stance"]
r.actors[cols].head(20)'''),
    new_markdown_cell("## Organisations by stance"),
    new_code_cell('''orgs = r.actors[r.actors["type"] == "organisation"]
orgs.groupby("stance")["name"].apply(lambda s: ", ".join(s.head(8)))'''),
    new_markdown_cell("## An actor's quotes"),
    new_code_cell('''top = analysis.top_actors(r, n=5)
name = top["name"].iloc[0] if len(top) else None
print(name)
aliases = list(top["aliases"].iloc[0]) if len(top) else []
mine = r.quotes[r.quotes["speaker_name"].isin(aliases)]
mine[["article_id", "kind", "content", "stance", "p_ban", "p_oversight", "p_neutral"]].head(10)'''),
    new_markdown_cell("## How positions shift: quote stance by year"),
    new_code_cell('''q = r.quotes.merge(r.articles[["article_id", "published"]], on="article_id")
q = q[q["stance"].notna() & q["published"].notna()].copy()
q["year"] = pd.to_datetime(q["published"], utc=True).dt.year
names = set(top["name"].head(5)) if len(top) else set()
alias_to_name = {a: n for n, al in zip(r.actors["name"], r.actors["aliases"]) for a in al}
q["actor"] = q["speaker_name"].map(alias_to_name)
shift = (q[q["actor"].isin(names)].groupby(["actor", "year", "stance"]).size().unstack(fill_value=0))
shift'''),
    new_markdown_cell("## The actor network\n\n`actors.gexf` in the run folder opens in Gephi: actors, "
                      "organisations and stances as nodes, \"quoted with this stance\" edges weighted by "
                      "the number of quotes."),
    new_code_cell('''import networkx as nx
g = nx.read_gexf(RESULTS / "actors.gexf")
print(g.number_of_nodes(), "nodes,", g.number_of_edges(), "edges")
sorted(((d["weight"], g.nodes[u]["label"], g.nodes[v]["label"]) for u, v, d in g.edges(data=True)
        if v.startswith("stance:")), reverse=True)[:10]'''),
]

MODEL = [
    new_markdown_cell("# The model\n\nHow far to trust the labels: the confusion matrix and the calibration "
                      "curve of the topic and stance model on the labelled dev split, and the errors "
                      "worth reading. The figures come from `frstance evaluate` (the DVC `evaluate` stage "
                      "writes `metrics/stance_dev.json`; set `FRSTANCE_METRICS` to another file); without "
                      "that file, from the evaluation stored with the model."),
    new_code_cell(SETUP + '''
import json
from pipeline.classify import model_store

METRICS = Path(os.environ.get("FRSTANCE_METRICS", "../metrics/stance_dev.json"))
if METRICS.is_file():
    metrics = json.loads(METRICS.read_text(encoding="utf-8"))
    print("metrics from", METRICS)
else:
    metrics = model_store.read_metadata()["evaluation"]
    print("metrics stored with the shipped model (no per-item errors)")
{t: {k: round(metrics[t][k], 3) for k in ("macro_f1", "accuracy", "ece")} for t in ("topic", "stance")}'''),
    new_markdown_cell("## Confusion matrix (stance; rows = gold, columns = predicted)"),
    new_code_cell('''cm = metrics["stance"]["confusion_matrix"]
pd.DataFrame(cm["rows_true_cols_pred"], index=cm["labels"], columns=cm["labels"])'''),
    new_code_cell('''pd.DataFrame(metrics["stance"]["per_class"]).T.round(3)'''),
    new_markdown_cell("## Calibration curve\n\nA calibrated model's confidence equals its accuracy: points on the diagonal."),
    new_code_cell('''fig, ax = plt.subplots(figsize=(5, 5))
for task, colour in (("topic", "#009E73"), ("stance", "#D55E00")):
    bins = [b for b in metrics[task]["calibration_bins"] if b["n"]]
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", color=colour,
            label=f"{task} (ECE {metrics[task]['ece']:.3f})")
ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", label="perfect calibration")
ax.set_xlabel("Mean confidence in bin"); ax.set_ylabel("Accuracy in bin"); ax.set_title("Calibration on dev")
ax.legend(frameon=False); plt.show()'''),
    new_markdown_cell("## Errors worth reading\n\nThe most confident wrong predictions on dev (when the "
                      "metrics file has them), then the run's articles the model is least sure of."),
    new_code_cell('''pd.DataFrame(metrics["stance"].get("errors", [])).head(15)'''),
    new_code_cell('''on = r.on_topic.copy()
on["confidence"] = on[["p_ban", "p_oversight", "p_neutral"]].max(axis=1)
on.sort_values("confidence")[["title", "stance", "p_ban", "p_oversight", "p_neutral", "top_features"]].head(10)'''),
]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, cells in (("1_stance_landscape", LANDSCAPE), ("2_who_says_what", ACTORS), ("3_the_model", MODEL)):
        nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})
        nbformat.write(nb, OUT / f"{name}.ipynb")
        print(OUT / f"{name}.ipynb")


if __name__ == "__main__":
    main()
