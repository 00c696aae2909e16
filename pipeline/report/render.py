"""Render a run folder into one self-contained HTML file, or export its tables.

Every string from the corpus reaches the HTML through Jinja2 with autoescaping on, so a
title such as ``<script>…</script>`` shows as text; the page also carries a Content
Security Policy that allows no script and no network fetch at all (images are data URIs).
Exports neutralise cells a spreadsheet would run as formulas. Output paths come only from
the command line, never from input content, and are written atomically.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from pipeline import __version__
from pipeline.analysis import (Results, co_mentions, load_results, stance_by_outlet, stance_over_time,
                               subtopic_summary, top_actors)
from pipeline.classify.active import safe_cell
from pipeline.report import charts
from pipeline.schemas import STANCE_LABELS
from pipeline.store import atomic_write

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("html", "xlsx", "csv")


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _model_summary(r: Results) -> dict[str, str]:
    from pipeline.classify import model_store

    info = r.manifest.get("stance_model") or {}
    out = {"version": info.get("version") or "none", "evaluation": "not recorded",
           "quote_version": (r.manifest.get("quote_model") or {}).get("version") or "none"}
    folder = info.get("dir", "")
    try:
        meta = model_store.read_metadata(None if "shipped" in folder or not folder else Path(folder))
    except model_store.ModelError:
        return out
    ev = meta.get("evaluation") or {}
    if ev.get("stance") and ev.get("topic"):
        s, t = ev["stance"], ev["topic"]
        ci = s.get("ci95", {}).get("macro_f1")
        out["evaluation"] = (f"on {ev['split']}: topic F1 {t['f1']:.3f}; stance macro-F1 {s['macro_f1']:.3f}"
                             + (f" (95% interval {ci[0]:.2f}–{ci[1]:.2f})" if ci else "")
                             + f", calibration error {s['ece']:.3f}; grouped CV macro-F1 "
                             f"{meta['cv']['stance']['scores'][meta['cv']['stance']['chosen']]['macro_f1']:.3f}")
    return out


def _pct(x: Any) -> str:
    return "" if x is None or pd.isna(x) else f"{100 * float(x):.0f}%"


def _frequency(dates: pd.Series) -> str:
    """Months for up to two years, quarters up to eight, then years: bars stay readable."""
    if len(dates) < 2:
        return "M"
    months = (dates.max() - dates.min()).days / 30.4
    return "M" if months <= 24 else "Q" if months <= 96 else "Y"


def _latest(on: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    rows = on.assign(when=pd.to_datetime(on["published"], utc=True)).sort_values(
        ["when", "article_id"], ascending=[False, True], na_position="last").head(n)
    return [{"published": "" if pd.isna(a.when) else f"{a.when:%Y-%m-%d}",
             "outlet": a.provider if isinstance(a.provider, str) else (a.domain or ""),
             "title": a.title or a.text[:120], "stance": a.stance, "p": _pct(getattr(a, f"p_{a.stance}")),
             "terms": ", ".join(list(a.top_features)[:5]) if a.top_features is not None else ""}
            for a in rows.itertuples()]


def context(r: Results, max_quarantine: int = 50) -> dict[str, Any]:
    on = r.on_topic
    dates = pd.to_datetime(r.articles["published"], utc=True).dropna() if len(r.articles) else pd.Series([], dtype=object)
    period = f"{dates.min():%d %b %Y} to {dates.max():%d %b %Y}" if len(dates) else "no dates"
    actors = top_actors(r, 15)
    actor_rows = []
    for a in actors.itertuples():
        aff = ", ".join(x for x in (a.role, a.organisation) if isinstance(x, str) and x)
        actor_rows.append({"name": a.name, "type": a.type, "affiliation": aff, "n_quotes": a.n_quotes,
                           "n_articles": a.n_articles, "stance": a.stance,
                           "p": _pct(getattr(a, f"p_{a.stance}")), "example": a.example_quote or ""})
    subtopics = [{"topic_id": t.topic_id, "terms": t.terms, "articles": t.articles,
                  **{s: _pct(getattr(t, f"share_{s}")) for s in STANCE_LABELS}}
                 for t in subtopic_summary(r).itertuples()]
    quarantine = r.quarantine.sort_values(["source_path", "line"], na_position="first").to_dict("records")
    return {
        "title": str(r.folder), "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__, "stances": STANCE_LABELS, "period": period,
        "inputs": ", ".join(map(str, r.manifest.get("inputs", []))) or "unknown",
        "counts": {"articles": len(r.articles), "on_topic": len(on),
                   "stance": {s: int((on["stance"] == s).sum()) for s in STANCE_LABELS},
                   "quotes": len(r.quotes), "actors": len(r.actors), "quarantined": len(r.quarantine)},
        "model": _model_summary(r),
        "quarantine": quarantine[:max_quarantine], "quarantine_more": max(0, len(quarantine) - max_quarantine),
        "charts": {"time": charts.stance_over_time(stance_over_time(r, _frequency(dates))),
                   "outlets": charts.stance_by_outlet(stance_by_outlet(r, 12)),
                   "actors": charts.actors_by_stance(actors)},
        "actors": actor_rows, "subtopics": subtopics, "latest": _latest(on, 15),
        "comentions": co_mentions(r, 20).to_dict("records"),
    }


def render_html(r: Results) -> str:
    return _env().get_template("report.html.j2").render(**context(r))


def export_frames(r: Results) -> dict[str, pd.DataFrame]:
    """The tables analysts share, flat (lists joined by "; "), in a stable order."""
    arts = r.articles[["article_id", "published", "provider", "domain", "url", "title", "topic", "p_topic",
                       "stance", "p_ban", "p_oversight", "p_neutral", "top_features"]].copy()
    arts["published"] = pd.to_datetime(arts["published"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    arts["top_features"] = arts["top_features"].map(lambda v: "; ".join(v) if v is not None else "")
    quotes = r.quotes[["quote_id", "article_id", "kind", "speaker_name", "speaker_type", "speaker_role",
                       "speaker_org", "cue", "content", "stance", "p_ban", "p_oversight", "p_neutral"]].copy()
    actors = r.actors.copy()
    if "aliases" in actors:
        actors["aliases"] = actors["aliases"].map(lambda v: "; ".join(v) if v is not None else "")
    return {"articles": arts.sort_values("article_id").reset_index(drop=True),
            "quotes": quotes.reset_index(drop=True), "actors": actors.reset_index(drop=True),
            "subtopics": subtopic_summary(r)}


def _safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(safe_cell)
    return out


def write_report(results: Path, out: Path, fmt: str = "html") -> list[Path]:
    """Write the report (html: one file) or the exports (xlsx: one workbook; csv: a folder)."""
    r = load_results(results)
    if fmt == "html":
        data = render_html(r).encode("utf-8")
        atomic_write(out, lambda tmp: tmp.write_bytes(data))
        return [out]
    frames = {k: _safe(v) for k, v in export_frames(r).items()}
    if fmt == "xlsx":
        buf = io.BytesIO()
        with pd.ExcelWriter(buf, engine="openpyxl") as xl:
            for name, df in frames.items():
                df.to_excel(xl, sheet_name=name, index=False)
        data = buf.getvalue()
        atomic_write(out, lambda tmp: tmp.write_bytes(data))
        return [out]
    if fmt == "csv":
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in frames.items():
            text = df.to_csv(index=False, lineterminator="\n").encode("utf-8")
            atomic_write(out / f"{name}.csv", lambda tmp, t=text: tmp.write_bytes(t))
            written.append(out / f"{name}.csv")
        return written
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
