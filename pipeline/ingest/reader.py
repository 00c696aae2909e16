"""One file in, article rows and quarantine rows out: the reader chosen by file kind.

Nothing a file holds can stop the batch: whatever a reader raises becomes a
``reader_error`` quarantine row for that file, after the rows it had already produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pipeline.config import IngestParams
from pipeline.ingest.articles import to_article
from pipeline.ingest.files import read_document
from pipeline.ingest.frontmatter import looks_like_front_matter, read_front_matter
from pipeline.ingest.records import Quarantined, RawRecord
from pipeline.ingest.tabular import read_csv, read_json, read_jsonl, read_parquet

_TABULAR = {
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".jsonlines": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".tsv": read_csv,
    ".parquet": read_parquet,
    ".pq": read_parquet,
}


@dataclass
class FileResult:
    articles: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)

    @property
    def inputs(self) -> int:
        return len(self.articles) + len(self.quarantined)


def read_plaintext(text: str, source_path: str) -> Iterator[RawRecord]:
    """A plain-text article body, kept whole (no title is guessed)."""
    yield RawRecord(source_path=source_path, kind="plaintext", body=text)


def _records(shown: str, path: Path, params: IngestParams) -> Iterator[RawRecord | Quarantined]:
    reader = _TABULAR.get(path.suffix.lower()) or _TABULAR.get(Path(shown).suffix.lower())
    if reader is not None:
        yield from reader(path, shown, params)
        return
    doc = read_document(path, shown, params.max_document_bytes)
    if isinstance(doc, Quarantined):
        yield doc
    elif looks_like_front_matter(doc):
        yield from read_front_matter(doc, shown)
    else:
        yield from read_plaintext(doc, shown)


def is_tabular(shown: str, path: Path) -> bool:
    """JSONL / JSON / CSV / Parquet: files that can hold any number of articles."""
    return (path.suffix.lower() in _TABULAR) or (Path(shown).suffix.lower() in _TABULAR)


def iter_file(shown: str, path: Path, params: IngestParams, chunk: int = 1000) -> Iterator[FileResult]:
    """Read one input file into article rows (not yet de-duplicated) and quarantine rows, a
    ``FileResult`` of at most ``chunk`` records at a time (a large file is never held whole)."""
    result = FileResult()
    try:
        for rec in _records(shown, path, params):
            if isinstance(rec, Quarantined):
                result.quarantined.append(rec)
            else:
                try:
                    row = to_article(rec, params)
                except Exception as exc:  # noqa: BLE001 - one bad record never stops the file
                    row = Quarantined(shown, "reader_error", f"{type(exc).__name__}: {exc}"[:300],
                                      line=rec.line, item=rec.item, input_kind=rec.kind)
                if isinstance(row, Quarantined):
                    result.quarantined.append(row)
                else:
                    result.articles.append(row)
            if result.inputs >= chunk:
                yield result
                result = FileResult()
    except (Exception, RecursionError, MemoryError) as exc:  # noqa: BLE001
        result.quarantined.append(
            Quarantined(shown, "reader_error", f"{type(exc).__name__}: {exc}"[:300])
        )
    if result.inputs:
        yield result


def read_file(shown: str, path: Path, params: IngestParams) -> FileResult:
    """Read one input file whole (see :func:`iter_file`)."""
    result = FileResult()
    for part in iter_file(shown, path, params):
        result.articles.extend(part.articles)
        result.quarantined.extend(part.quarantined)
    return result
