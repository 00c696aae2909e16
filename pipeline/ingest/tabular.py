"""JSONL, JSON, CSV / TSV and Parquet inputs: one article per line or row.

Columns are matched to article fields through ``ingest.columns`` in params.yaml
(case-insensitive; the first alias present wins). Files are streamed: a JSONL line
longer than ``ingest.max_line_bytes`` is skipped without being held in memory, and
Parquet is read a batch of rows at a time.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import ColumnAliases, IngestParams
from pipeline.ingest.files import decode, os_reason, read_document, sniff_binary
from pipeline.ingest.records import Quarantined, RawRecord

FIELDS = ("url", "title", "text", "excerpt", "published", "provider", "domain")
TEXT_FIELDS = ("title", "text", "excerpt")
_PARQUET_BATCH = 2048
_SURROGATE_LO, _SURROGATE_HI = "\udc80", "\udcff"

# Long article bodies are normal in CSV exports; article length is limited later, by
# ingest.max_article_chars, with a quarantine row rather than a csv.Error.
csv.field_size_limit(2**31 - 1)


class ColumnMap:
    """Maps the keys of one input (header or JSON object keys) to article fields.

    Each field may match several keys (``body`` and ``content``, say); a row takes the
    first of them, in alias order, whose value is not empty.
    """

    def __init__(self, keys: Iterable[str], aliases: ColumnAliases) -> None:
        lower: dict[str, str] = {}
        for k in keys:
            if isinstance(k, str):
                lower.setdefault(k.strip().lower(), k)
        self.mapping: dict[str, list[str]] = {}
        for fld in FIELDS:
            found = [lower[a.lower()] for a in getattr(aliases, fld) if a.lower() in lower]
            if found:
                self.mapping[fld] = list(dict.fromkeys(found))

    @property
    def usable(self) -> bool:
        return any(f in self.mapping for f in TEXT_FIELDS)

    @property
    def columns(self) -> set[str]:
        return {k for keys in self.mapping.values() for k in keys}

    def _get(self, row: dict[str, Any], fld: str) -> Any:
        for key in self.mapping.get(fld, ()):
            value = row.get(key)
            if value is not None and value != "" and not isinstance(value, bool):
                return value
        return None

    def record(self, row: dict[str, Any], source_path: str, kind: str, line: int) -> RawRecord:
        return RawRecord(
            source_path=source_path,
            kind=kind,
            line=line,
            url=self._get(row, "url"),
            title=self._get(row, "title"),
            excerpt=self._get(row, "excerpt"),
            body=self._get(row, "text"),
            published=self._get(row, "published"),
            provider=self._get(row, "provider"),
            domain=self._get(row, "domain"),
            topics=row.get("topics") if isinstance(row.get("topics"), list) else None,
        )


def _describe_keys(keys: Iterable[Any]) -> str:
    names = [str(k) for k in keys][:12]
    return ", ".join(names) if names else "none"


def _open_binary(path: Path, source_path: str, kind: str) -> tuple[io.BufferedReader, bytes] | Quarantined:
    """Open for streaming and look at the first bytes; quarantine unreadable or binary files."""
    try:
        fh = open(path, "rb")
        head = fh.peek(8192)[:8192]
    except OSError as exc:
        return Quarantined(source_path, "unreadable", os_reason(exc), input_kind=kind)
    what = sniff_binary(head)
    if what:
        fh.close()
        return Quarantined(source_path, "binary", f"{what}, not {kind.upper()}", input_kind=kind)
    return fh, head


# --------------------------------------------------------------------------- JSONL / JSON


def _iter_lines(fh: io.BufferedReader, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, bytes) with None for lines longer than ``limit`` (skipped unread)."""
    n = 0
    while True:
        chunk = fh.readline(limit + 1)
        if not chunk:
            return
        n += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):
                chunk = fh.readline(1 << 20)
            yield n, None
            continue
        yield n, chunk


def _json_object(
    obj: Any, source_path: str, kind: str, line: int, aliases: ColumnAliases
) -> RawRecord | Quarantined:
    if not isinstance(obj, dict):
        return Quarantined(source_path, "not_an_object",
                           f"a JSON {type(obj).__name__}, not an object with article fields",
                           line=line, input_kind=kind)
    cmap = ColumnMap(obj.keys(), aliases)
    if not cmap.usable:
        return Quarantined(source_path, "no_text",
                           f"no title, text or excerpt field (keys: {_describe_keys(obj.keys())})",
                           line=line, input_kind=kind)
    return cmap.record(obj, source_path, kind, line)


def _parse_json(text: str) -> tuple[Any, str | None]:
    """``(value, None)``, or ``(None, why)`` when ``text`` is not JSON."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as exc:
        return None, f"not JSON: {exc}"[:300]


def read_jsonl(path: Path, source_path: str, params: IngestParams) -> Iterator[RawRecord | Quarantined]:
    kind = "jsonl"
    opened = _open_binary(path, source_path, kind)
    if isinstance(opened, Quarantined):
        yield opened
        return
    fh, _ = opened
    seen_content = False
    with fh:
        for line_no, raw in _iter_lines(fh, params.max_line_bytes):
            if raw is None:
                seen_content = True
                yield Quarantined(source_path, "too_large",
                                  f"line longer than ingest.max_line_bytes ({params.max_line_bytes:,})",
                                  line=line_no, input_kind=kind)
                continue
            text, why = decode(raw)  # also drops a UTF-8 byte-order mark
            if text is None:
                seen_content = True
                yield Quarantined(source_path, "undecodable", why or "", line=line_no, input_kind=kind)
                continue
            if not text.strip():
                continue
            seen_content = True
            obj, problem = _parse_json(text)
            if problem:
                yield Quarantined(source_path, "invalid_json", problem, line=line_no, input_kind=kind)
                continue
            yield _json_object(obj, source_path, kind, line_no, params.columns)
    if not seen_content:
        yield Quarantined(source_path, "empty", "no JSON lines in the file", input_kind=kind)


def read_json(path: Path, source_path: str, params: IngestParams) -> Iterator[RawRecord | Quarantined]:
    """A .json file: an array of article objects, one object, or JSON lines under another name."""
    kind = "json"
    text = read_document(path, source_path, params.max_document_bytes, kind=kind)
    if isinstance(text, Quarantined):
        if text.reason == "too_large":
            text = replace(text, detail=text.detail + "; write it as JSON lines (.jsonl), which are streamed")
        yield text
        return
    obj, problem = _parse_json(text)
    if problem:
        if problem.startswith("not JSON: Extra data"):
            yield from read_jsonl(path, source_path, params)
        else:
            yield Quarantined(source_path, "invalid_json", problem, input_kind=kind)
        return
    items = obj if isinstance(obj, list) else [obj]
    if not items:
        yield Quarantined(source_path, "empty", "an empty JSON array", input_kind=kind)
    for i, item in enumerate(items, start=1):
        yield _json_object(item, source_path, kind, i, params.columns)


# --------------------------------------------------------------------------- CSV / TSV


def _has_surrogates(values: Iterable[Any]) -> bool:
    return any(
        isinstance(v, str) and any(_SURROGATE_LO <= ch <= _SURROGATE_HI for ch in v) for v in values
    )


def read_csv(path: Path, source_path: str, params: IngestParams) -> Iterator[RawRecord | Quarantined]:
    kind = "csv"
    opened = _open_binary(path, source_path, kind)
    if isinstance(opened, Quarantined):
        yield opened
        return
    fh, head = opened
    with fh:
        encoding = "utf-8-sig"
        for bom, enc in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
            if head.startswith(bom):
                encoding = enc
        stream = io.TextIOWrapper(fh, encoding=encoding, errors="surrogateescape", newline="")
        first = stream.readline()
        if not first.strip():
            yield Quarantined(source_path, "empty", "no header line", input_kind=kind)
            return
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        if delimiter == "," and first.count(",") == 0:
            delimiter = max(("\t", ";", "|"), key=first.count) if any(c in first for c in "\t;|") else ","
        reader = csv.reader(_chain([first], stream), delimiter=delimiter)
        try:
            header = next(reader)
        except csv.Error as exc:
            yield Quarantined(source_path, "csv_error", f"header: {exc}", line=1, input_kind=kind)
            return
        cmap = ColumnMap(header, params.columns)
        if not cmap.usable:
            yield Quarantined(source_path, "no_usable_columns",
                              f"no url/title/text/body/excerpt column among: {_describe_keys(header)}",
                              line=1, input_kind=kind)
            return
        width = len(header)
        last_end = reader.line_num
        rows_seen = 0
        while True:
            start = last_end + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield Quarantined(source_path, "csv_error", str(exc)[:300], line=start, input_kind=kind)
                if reader.line_num == last_end:
                    break
                last_end = reader.line_num
                continue
            last_end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            rows_seen += 1
            if _has_surrogates(row):
                yield Quarantined(source_path, "undecodable", f"row is not valid {encoding}", line=start,
                                  input_kind=kind)
                continue
            if len(row) != width:
                yield Quarantined(source_path, "csv_error",
                                  f"row has {len(row)} fields, the header has {width}",
                                  line=start, input_kind=kind)
                continue
            yield cmap.record(dict(zip(header, row)), source_path, kind, start)
        if rows_seen == 0:
            yield Quarantined(source_path, "empty", "a header line but no rows", input_kind=kind)


def _chain(first: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from first
    yield from rest


# --------------------------------------------------------------------------- Parquet


def read_parquet(path: Path, source_path: str, params: IngestParams) -> Iterator[RawRecord | Quarantined]:
    kind = "parquet"
    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
    except OSError as exc:
        if isinstance(exc, pa.ArrowException):
            yield Quarantined(source_path, "parquet_error", str(exc)[:300], input_kind=kind)
        else:
            yield Quarantined(source_path, "unreadable", os_reason(exc), input_kind=kind)
        return
    except (pa.ArrowException, ValueError) as exc:
        yield Quarantined(source_path, "parquet_error", str(exc)[:300], input_kind=kind)
        return
    cmap = ColumnMap(names, params.columns)
    if not cmap.usable:
        yield Quarantined(source_path, "no_usable_columns",
                          f"no url/title/text/body/excerpt column among: {_describe_keys(names)}",
                          input_kind=kind)
        return
    wanted = sorted(cmap.columns | ({"topics"} & set(names)))
    row_no = 0
    with pf:
        try:
            for batch in pf.iter_batches(batch_size=_PARQUET_BATCH, columns=wanted):
                for row in batch.to_pylist():
                    row_no += 1
                    yield cmap.record(row, source_path, kind, row_no)
        except (pa.ArrowException, OSError, ValueError) as exc:
            total = pf.metadata.num_rows if pf.metadata is not None else None
            rest = f"rows {row_no + 1}-{total}" if total else f"rows from {row_no + 1} on"
            yield Quarantined(source_path, "parquet_error", f"{rest} unreadable: {exc}"[:300],
                              line=row_no + 1, input_kind=kind)
            return
    if row_no == 0:
        yield Quarantined(source_path, "empty", "a Parquet file with no rows", input_kind=kind)
