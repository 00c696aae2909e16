"""Loading a run's outputs for analysis, and the aggregations notebooks and the report share.

    from pipeline.analysis import load_results
    r = load_results("data/processed")
    r.articles          # articles joined with their predictions (topic, stance, probabilities)
    r.quotes, r.actors, r.entities, r.topics, r.topic_terms, r.quarantine, r.manifest
    stance_over_time(r, freq="M")      # counts, shares and 95% intervals per period
    stance_by_outlet(r, top=15)
    top_actors(r, n=15)                # with an example quote per actor
    co_mentions(r, n=20)               # entity pairs mentioned in the same article

Every helper is a plain function of the loaded tables, returning a pandas DataFrame.
Shares come with Wilson 95% intervals on the predicted labels, and with the mean
calibrated probability (the expected share), which is what a calibrated model's
probabilities are for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.schemas import STANCE_LABELS, TABLES
from pipeline.store import interrupted_publication

ON_TOPIC = "facial_recognition"
Z95 = 1.959963984540054


class ResultsError(FileNotFoundError):
    """The folder is not a frstance run's output (or lacks a table a helper needs)."""


@dataclass
class Results:
    folder: Path
    articles: pd.DataFrame
    quotes: pd.DataFrame
    entities: pd.DataFrame
    actors: pd.DataFrame
    topics: pd.DataFrame
    topic_terms: pd.DataFrame
    quarantine: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def on_topic(self) -> pd.DataFrame:
        return self.articles[self.articles["topic"] == ON_TOPIC]


def _read(folder: Path, name: str) -> pd.DataFrame:
    spec = TABLES[name]
    path = folder / spec.file
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in spec.names})
    return pd.read_parquet(path)


def load_results(folder: str | Path = "data/processed") -> Results:
    """Read every table of a run folder (missing later-stage tables come back empty)."""
    folder = Path(folder)
    if interrupted_publication(folder):
        raise ResultsError(f"{folder} is between two runs' tables (a run is publishing its tables, or was killed "
                           "while doing so): wait for it, or run the same command again to finish")
    if not (folder / TABLES["articles"].file).is_file():
        raise ResultsError(f"{folder} has no articles.parquet: run `frstance run --out {folder}` first")
    articles = _read(folder, "articles")
    pred = _read(folder, "predictions")
    if len(pred):
        articles = articles.merge(pred, on="article_id", how="left")
    else:
        for c in TABLES["predictions"].names[1:]:
            articles[c] = None
    manifest = {}
    if (folder / "run_manifest.json").is_file():
        manifest = json.loads((folder / "run_manifest.json").read_text(encoding="utf-8"))
    return Results(folder=folder, articles=articles, quotes=_read(folder, "quotes"),
                   entities=_read(folder, "entities"), actors=_read(folder, "actors"),
                   topics=_read(folder, "topics"), topic_terms=_read(folder, "topic_terms"),
                   quarantine=_read(folder, "quarantine"), manifest=manifest)


def wilson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score 95% interval for k successes in n trials (vectorised; n = 0 gives NaN)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + Z95 ** 2 / n
        centre = (p + Z95 ** 2 / (2 * n)) / denom
        half = Z95 * np.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n ** 2)) / denom
    return centre - half, centre + half


def _shares(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    rows = []
    for key, g in frame.groupby(by, sort=True, observed=True):
        n = len(g)
        row: dict[str, Any] = {by: key, "n": n}
        for s in STANCE_LABELS:
            k = int((g["stance"] == s).sum())
            lo, hi = wilson(np.array([k]), np.array([n]))
            row.update({f"n_{s}": k, f"share_{s}": k / n if n else np.nan, f"low_{s}": float(lo[0]),
                        f"high_{s}": float(hi[0]), f"expected_{s}": float(g[f"p_{s}"].mean())})
        rows.append(row)
    cols = [by, "n"] + [f"{p}_{s}" for s in STANCE_LABELS for p in ("n", "share", "low", "high", "expected")]
    return pd.DataFrame(rows, columns=cols)


def stance_over_time(r: Results, freq: str = "M") -> pd.DataFrame:
    """Per period (pandas frequency: "M" month, "Q" quarter, "Y" year) of on-topic articles with a date."""
    a = r.on_topic.dropna(subset=["published"]).copy()
    if a.empty:
        return _shares(a.assign(period=pd.Series(dtype="object")), "period")
    ts = pd.to_datetime(a["published"], utc=True).dt.tz_localize(None)
    a["period"] = ts.dt.to_period({"M": "M", "Q": "Q", "Y": "Y"}.get(freq, freq)).dt.start_time
    return _shares(a, "period")


def stance_by_outlet(r: Results, top: int = 15) -> pd.DataFrame:
    """The ``top`` outlets by number of on-topic articles (provider, else domain)."""
    a = r.on_topic.copy()
    a["outlet"] = a["provider"].fillna(a["domain"]).fillna("(unknown)")
    keep = a["outlet"].value_counts().sort_index().sort_values(ascending=False, kind="stable").head(top).index
    out = _shares(a[a["outlet"].isin(keep)], "outlet")
    return out.sort_values(["n", "outlet"], ascending=[False, True]).reset_index(drop=True)


def top_actors(r: Results, n: int = 15) -> pd.DataFrame:
    """Most-quoted actors with a stance, each with its most confident quote as an example."""
    actors = r.actors[r.actors["stance"].notna()].head(n).copy() if len(r.actors) else r.actors.copy()
    examples = []
    q = r.quotes[r.quotes["stance"].notna()] if len(r.quotes) else r.quotes
    for a in actors.itertuples():
        mine = q[q["speaker_name"].isin(list(a.aliases)) & (q["stance"] == a.stance)]
        if mine.empty:
            examples.append(None)
            continue
        best = mine.assign(conf=mine[f"p_{a.stance}"]).sort_values(["conf", "quote_id"], ascending=[False, True])
        examples.append(best.iloc[0]["content"])
    actors["example_quote"] = examples
    return actors.reset_index(drop=True)


def co_mentions(r: Results, n: int = 20, labels: tuple[str, ...] = ("PERSON", "ORG", "GPE")) -> pd.DataFrame:
    """Pairs of entities (by canonical name) mentioned in the same article, most frequent first."""
    e = r.entities
    if e.empty:
        return pd.DataFrame(columns=["a", "b", "articles"])
    e = e[e["label"].isin(labels)]
    counts: dict[tuple[str, str], int] = {}
    for _, g in e.groupby("article_id", sort=True):
        names = sorted(set(g["canonical"]))
        for a, b in combinations(names, 2):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    rows = sorted(((a, b, c) for (a, b), c in counts.items()), key=lambda t: (-t[2], t[0], t[1]))[:n]
    return pd.DataFrame(rows, columns=["a", "b", "articles"])


def subtopic_summary(r: Results, terms: int = 6) -> pd.DataFrame:
    """Each subtopic: its top terms, the number of articles where it weighs most, and their stance mix."""
    if r.topic_terms.empty:
        return pd.DataFrame(columns=["topic_id", "terms", "articles"] + [f"share_{s}" for s in STANCE_LABELS])
    main = r.topics.sort_values(["article_id", "weight", "topic_id"], ascending=[True, False, True])
    main = main.drop_duplicates("article_id").merge(r.articles[["article_id", "stance"]], on="article_id")
    rows = []
    for tid, g in r.topic_terms.groupby("topic_id", sort=True):
        arts = main[main["topic_id"] == tid]
        row = {"topic_id": int(tid), "terms": ", ".join(g.sort_values("rank")["term"].head(terms)),
               "articles": len(arts)}
        for s in STANCE_LABELS:
            row[f"share_{s}"] = float((arts["stance"] == s).mean()) if len(arts) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
