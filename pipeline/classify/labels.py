"""Label files (url, topic, stance, split, group) read, checked and joined to articles.

Several files may be given (the shipped labels, then an analyst's filled ``to_label.csv``);
a later file's row for the same URL replaces an earlier one. A row whose topic is empty is
not labelled yet and is skipped (counted). Anything else that is wrong stops with an error
naming the file, the line and the problem: a label file is small and written by people, so
a silent fix would hide a mistake.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa

from pipeline.ingest.normalize import canonical_url
from pipeline.schemas import STANCE_LABELS, TOPIC_LABELS

ON_TOPIC = TOPIC_LABELS[0]
REQUIRED = ("url", "topic")


class LabelError(ValueError):
    """A label file is missing, unreadable or holds an invalid row."""


@dataclass
class Labels:
    """Labelled articles: one row per article with text, title, topic, stance, split, group."""

    frame: pd.DataFrame
    counts: dict

    def split(self, names: Iterable[str]) -> pd.DataFrame:
        names = set(names)
        return self.frame[self.frame["split"].isin(names)].reset_index(drop=True)

    def digest(self) -> str:
        """sha256 of what the labels say about which texts (independent of file order)."""
        lines = sorted(
            f"{r.content_hash}\t{r.topic}\t{r.stance or ''}\t{r.split}\t{r.group}"
            for r in self.frame.itertuples()
        )
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def read_label_files(paths: Iterable[str | Path]) -> tuple[dict[str, dict], dict]:
    """{url: row} over all files (later files win) and counts."""
    rows: dict[str, dict] = {}
    counts = {"files": 0, "rows": 0, "unlabelled_rows": 0, "replaced": 0}
    for path in paths:
        path = Path(path)
        counts["files"] += 1
        try:
            with open(path, encoding="utf-8-sig", newline="") as f:
                reader = csv.DictReader(f)
                header = [h.strip().lower() for h in (reader.fieldnames or [])]
                missing = [c for c in REQUIRED if c not in header]
                if missing:
                    raise LabelError(f"{path}: no {', '.join(missing)} column (columns: {', '.join(header) or 'none'})")
                for lineno, raw in enumerate(reader, start=2):
                    row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
                    counts["rows"] += 1
                    parsed = _parse_row(row, path, lineno)
                    if parsed is None:
                        counts["unlabelled_rows"] += 1
                        continue
                    if parsed["url"] in rows:
                        counts["replaced"] += 1
                    rows[parsed["url"]] = parsed
        except FileNotFoundError:
            raise LabelError(f"label file {path} does not exist") from None
        except UnicodeDecodeError as exc:
            raise LabelError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except csv.Error as exc:
            raise LabelError(f"{path}: not a readable CSV file ({exc})") from None
    return rows, counts


def _parse_row(row: dict, path: Path, lineno: int) -> dict | None:
    where = f"{path}:{lineno}"
    url, topic, stance = row.get("url", ""), row.get("topic", ""), row.get("stance", "")
    if not url:
        if topic or stance:
            raise LabelError(f"{where}: a label without a url")
        return None
    if not topic:
        if stance:
            raise LabelError(f"{where}: stance {stance!r} without a topic")
        return None
    if topic not in TOPIC_LABELS:
        raise LabelError(f"{where}: topic {topic!r} is not one of {', '.join(TOPIC_LABELS)}")
    if topic == ON_TOPIC and stance not in STANCE_LABELS:
        raise LabelError(f"{where}: a facial_recognition item needs a stance, one of "
                         f"{', '.join(STANCE_LABELS)} (got {stance!r})")
    if topic != ON_TOPIC and stance:
        raise LabelError(f"{where}: stance {stance!r} given for an off-topic item (leave it empty)")
    return {
        "url": url,
        "topic": topic,
        "stance": stance if topic == ON_TOPIC else None,
        "split": row.get("split") or "train",
        "group": row.get("group") or None,
    }


def join_labels(rows: dict[str, dict], articles: pa.Table, tracking_params: tuple[str, ...],
                counts: dict) -> Labels:
    """Attach each label to its article by canonical URL (or any URL collapsed into it)."""
    arts = articles.select(["article_id", "url", "canonical_url", "urls", "title", "text",
                            "content_hash"]).to_pandas()
    by_url: dict[str, int] = {}
    for i, r in enumerate(arts.itertuples()):
        for u in list(r.urls) + [r.canonical_url]:
            if u:
                by_url.setdefault(u, i)
                c = canonical_url(u, tracking_params)
                if c:
                    by_url.setdefault(c, i)
    out, unmatched, seen = [], [], {}
    for url, lab in rows.items():
        i = by_url.get(url)
        if i is None:
            c = canonical_url(url, tracking_params)
            i = by_url.get(c) if c else None
        if i is None:
            unmatched.append(url)
            continue
        art = arts.iloc[i]
        if art.article_id in seen:
            # Two labelled URLs collapsed into one article: the later file row wins.
            out[seen[art.article_id]] = None
        seen[art.article_id] = len(out)
        out.append({
            "article_id": art.article_id, "url": url, "title": art.title or "", "text": art.text,
            "content_hash": art.content_hash, "topic": lab["topic"], "stance": lab["stance"],
            "split": lab["split"], "group": lab["group"] or f"url:{art.article_id}",
        })
    frame = pd.DataFrame([r for r in out if r is not None],
                         columns=["article_id", "url", "title", "text", "content_hash", "topic",
                                  "stance", "split", "group"])
    frame = frame.sort_values("article_id", kind="stable").reset_index(drop=True)
    counts = dict(counts, matched=len(frame), unmatched=len(unmatched),
                  unmatched_examples=sorted(unmatched)[:10],
                  by_split={k: int(v) for k, v in frame["split"].value_counts().sort_index().items()})
    return Labels(frame=frame, counts=counts)
