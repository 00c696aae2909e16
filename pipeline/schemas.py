"""Every Parquet table's pyarrow schema, with the meaning of each column.

This module is the single source for table layouts: writers cast to these schemas,
tests check tables against them, and the README's table documentation is checked
against the ``doc`` strings here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    name: str
    file: str
    doc: str
    columns: tuple[Column, ...]

    @property
    def schema(self) -> pa.Schema:
        fields = [
            pa.field(c.name, c.type, nullable=c.nullable, metadata={"doc": c.doc}) for c in self.columns
        ]
        return pa.schema(fields, metadata={"table": self.name, "doc": self.doc})

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def from_rows(self, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
        """Build a table with exactly this schema from row mappings (missing keys are null)."""
        rows = list(rows)
        arrays = [
            pa.array([r.get(c.name) for r in rows], type=c.type) for c in self.columns
        ]
        return pa.Table.from_arrays(arrays, schema=self.schema)


TIMESTAMP = pa.timestamp("us", tz="UTC")

SOURCE = pa.struct(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("line", pa.int64()),
        pa.field("item", pa.string()),
        pa.field("kind", pa.string(), nullable=False),
    ]
)

ARTICLES = TableSpec(
    name="articles",
    file="articles.parquet",
    doc="One row per distinct article (exact duplicates collapsed). Later offsets refer to `text`.",
    columns=(
        Column("article_id", pa.string(), "Stable id: 16 hex digits of BLAKE2b over the canonical URL, "
               "or over the normalised text when there is no URL.", nullable=False),
        Column("url", pa.string(), "The article's URL as written in the chosen source."),
        Column("canonical_url", pa.string(), "URL with lower-case scheme and host, no default port, "
               "no fragment, no tracking parameters, remaining query parameters sorted."),
        Column("urls", pa.list_(pa.string()), "Every distinct URL, as written, of the inputs collapsed "
               "into this row.", nullable=False),
        Column("title", pa.string(), "Title, cleaned like `text`."),
        Column("excerpt", pa.string(), "Excerpt / summary / description, cleaned like `text`."),
        Column("text", pa.string(), "Title, lead and body joined by a blank line (see README): the "
               "string every later character offset refers to.", nullable=False),
        Column("published", TIMESTAMP, "Publication time in UTC; null when absent or unparseable "
               "(then `warnings` says so)."),
        Column("provider", pa.string(), "Outlet name."),
        Column("domain", pa.string(), "Outlet domain: as given, else the URL's host without `www.`."),
        Column("topics", pa.list_(pa.string()), "The aggregator's topic tags (empty for other inputs).",
               nullable=False),
        Column("related_to", pa.string(), "For an aggregator `related` entry: the article_id of the "
               "record it was listed under."),
        Column("input_kind", pa.string(), "Reader of the chosen source: frontmatter, related, "
               "plaintext, jsonl, json, csv or parquet.", nullable=False),
        Column("source_path", pa.string(), "File of the chosen source.", nullable=False),
        Column("source_line", pa.int64(), "1-based line (JSONL, CSV) or row (Parquet) of the chosen "
               "source; null for whole-file documents."),
        Column("sources", pa.list_(SOURCE), "Every input collapsed into this row (path, line, item "
               "such as `related[0]`, kind), sorted.", nullable=False),
        Column("duplicate_of", pa.string(), "article_id of the earliest / canonical article of the same "
               "story when this one is a near-duplicate; null otherwise."),
        Column("duplicate_similarity", pa.float64(), "Jaccard similarity of word shingles to "
               "`duplicate_of`'s text."),
        Column("content_hash", pa.string(), "sha256 of `text`.", nullable=False),
        Column("n_chars", pa.int64(), "Length of `text` in characters.", nullable=False),
        Column("warnings", pa.list_(pa.string()), "Problems met while ingesting that did not stop it "
               "(for example an unparseable date).", nullable=False),
    ),
)

QUARANTINE_REASONS: tuple[str, ...] = (
    "binary",                    # NUL bytes or a known binary signature
    "csv_error",                 # the CSV reader failed on this row or file
    "empty",                     # a file with nothing but whitespace
    "front_matter_not_mapping",  # the YAML between the --- lines is not a mapping
    "front_matter_unclosed",     # a --- front matter block that never closes
    "invalid_json",              # a JSONL line that is not JSON
    "no_text",                   # a record with neither title, excerpt nor body
    "no_usable_columns",         # a table without any url / title / text column
    "not_an_object",             # a JSONL line or related entry that is not an object
    "parquet_error",             # a truncated or corrupt Parquet file
    "reader_error",              # anything else a reader raised (the detail says what)
    "too_large",                 # over ingest.max_document_bytes / max_line_bytes / max_article_chars
    "undecodable",               # not valid UTF-8 (nor UTF-16/32 with a byte-order mark)
    "unreadable",                # the operating system refused to read it
    "yaml_error",                # YAML that does not parse, or uses tags such as !!python/...
    "yaml_hostile",              # YAML aliases or nesting beyond what a news record needs
)

QUARANTINE = TableSpec(
    name="quarantine",
    file="quarantine.parquet",
    doc="One row per input that could not be ingested, with the reason.",
    columns=(
        Column("source_path", pa.string(), "The file.", nullable=False),
        Column("line", pa.int64(), "1-based line (JSONL, CSV) or row (Parquet) when the problem is "
               "one record; null when it is the whole file."),
        Column("item", pa.string(), "Which part of a document, e.g. `related[2]`; null otherwise."),
        Column("reason", pa.string(), "Short code, one of: " + ", ".join(QUARANTINE_REASONS) + ".",
               nullable=False),
        Column("detail", pa.string(), "Human-readable explanation.", nullable=False),
        Column("input_kind", pa.string(), "Reader that met the problem, when known."),
    ),
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (ARTICLES, QUARANTINE)}


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t):
        return f"list<{_type_name(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{f.name}: {_type_name(f.type)}" for f in t) + ">"
    return str(t)


def markdown() -> str:
    """The README's table documentation, generated from the schemas (a test keeps them equal)."""
    parts = []
    for spec in TABLES.values():
        parts.append(f"#### `{spec.file}`\n\n{spec.doc}\n\n| column | type | meaning |\n|---|---|---|")
        for c in spec.columns:
            null = "" if c.nullable else ", not null"
            parts.append(f"| `{c.name}` | `{_type_name(c.type)}`{null} | {c.doc} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
