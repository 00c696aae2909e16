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

SPAN = pa.struct([pa.field("start", pa.int64(), nullable=False), pa.field("end", pa.int64(), nullable=False)])

ENTITIES = TableSpec(
    name="entities",
    file="entities.parquet",
    doc="One row per named-entity mention found by spaCy in an article's `text`.",
    columns=(
        Column("article_id", pa.string(), "The article (`articles.article_id`).", nullable=False),
        Column("start_char", pa.int64(), "Start offset into `articles.text`.", nullable=False),
        Column("end_char", pa.int64(), "End offset (exclusive): `text[start_char:end_char]` is `text`.",
               nullable=False),
        Column("text", pa.string(), "The mention as written.", nullable=False),
        Column("label", pa.string(), "spaCy entity label (PERSON, ORG, GPE, NORP, DATE, ...).",
               nullable=False),
        Column("canonical", pa.string(), "The fullest name of this entity in the article: \"Greer\" "
               "gives \"Evan Greer\", \"ACLU\" gives \"American Civil Liberties Union\" when both appear.",
               nullable=False),
        Column("sentence", pa.int64(), "0-based index of the sentence (spaCy's parse) holding the mention.",
               nullable=False),
    ),
)

QUOTE_KINDS: tuple[str, ...] = ("direct", "mixed", "indirect")
SPEAKER_TYPES: tuple[str, ...] = ("person", "organisation", "other", "unknown")

QUOTES = TableSpec(
    name="quotes",
    file="quotes.parquet",
    doc="One row per attribution (someone said, wrote or thought something), in text order. "
        "Offsets refer to `articles.text`.",
    columns=(
        Column("quote_id", pa.string(), "Stable id: 16 hex digits of BLAKE2b over article_id and the "
               "content offsets (the same article and extraction give the same id on every run).",
               nullable=False),
        Column("article_id", pa.string(), "The article (`articles.article_id`).", nullable=False),
        Column("quote_index", pa.int64(), "0-based position of the attribution in its article.",
               nullable=False),
        Column("kind", pa.string(), "direct (content opens with a quotation mark), mixed (reported "
               "speech holding a quoted phrase: said the plan would \"never work\") or indirect "
               "(no marks).", nullable=False),
        Column("content", pa.string(), "What was said: the text of the content pieces joined by \" … \" "
               "(a quote split by its attribution has two pieces).", nullable=False),
        Column("content_start", pa.int64(), "Start of the first content piece.", nullable=False),
        Column("content_end", pa.int64(), "End of the last content piece.", nullable=False),
        Column("content_pieces", pa.list_(SPAN), "Every content piece as {start, end}; "
               "`text[start:end]` of each, joined by \" … \", is `content`.", nullable=False),
        Column("cue", pa.string(), "The cue: the verb or phrase that introduces the content (said, "
               "told, according to, a colon); null for a quote no cue introduces."),
        Column("cue_start", pa.int64(), "Start offset of the cue."),
        Column("cue_end", pa.int64(), "End offset of the cue."),
        Column("speaker", pa.string(), "The speaker mention as written (\"she\", \"the spokesman\", "
               "\"Evan Greer, deputy director of ...\" is cut to its noun phrase); null when none."),
        Column("speaker_start", pa.int64(), "Start offset of the speaker mention."),
        Column("speaker_end", pa.int64(), "End offset of the speaker mention."),
        Column("speaker_name", pa.string(), "Who speaks, resolved within the article: pronouns, surnames "
               "and descriptions (\"the spokesman\") give the full name when the article gives it, "
               "else the mention itself; null when no speaker was found."),
        Column("speaker_type", pa.string(), "One of: " + ", ".join(SPEAKER_TYPES) + ".", nullable=False),
        Column("speaker_role", pa.string(), "The speaker's role when the article gives it (\"deputy "
               "director\", \"CEO\", \"spokesman\")."),
        Column("speaker_org", pa.string(), "The speaker's organisation when the article gives it "
               "(\"Fight for the Future\")."),
        Column("sentence", pa.int64(), "0-based index of the sentence where the content starts.",
               nullable=False),
        Column("origin", pa.string(), "How the attribution was found: `parse:<candidate>` (a cue and its "
               "syntactic content), `+quote` / `+next-paragraph` (a following quote joined to it), "
               "`quote:<rule>` (a quotation attached to a nearby cue: `quote:cue-adjacent`, `quote:lead-in`, "
               "`quote:colon`, `quote:dash`, `quote:cue-after`; or `quote:alone`, with no speaker).",
               nullable=False),
        Column("score", pa.float64(), "The extractor's confidence in [0, 1] (cue probability x content "
               "probability, or a fixed prior for attached quotes).", nullable=False),
        Column("model_version", pa.string(), "First 12 hex digits of the attribution model's sha256.",
               nullable=False),
        Column("stance", pa.string(), "Stance of the quoted content by the stance model (ban / "
               "oversight / neutral); null when the article is off-topic (`predictions.topic` is other) "
               "or no stance model ran."),
        Column("p_ban", pa.float64(), "Calibrated probability that the content argues for a ban."),
        Column("p_oversight", pa.float64(), "Calibrated probability that it argues for rules / oversight."),
        Column("p_neutral", pa.float64(), "Calibrated probability that it takes no side."),
        Column("stance_model_version", pa.string(), "First 12 hex digits of the stance model's sha256; "
               "null when no stance was computed."),
    ),
)

TOPIC_LABELS: tuple[str, ...] = ("facial_recognition", "other")
STANCE_LABELS: tuple[str, ...] = ("ban", "oversight", "neutral")

PREDICTIONS = TableSpec(
    name="predictions",
    file="predictions.parquet",
    doc="One row per article: its topic and, when on-topic, its stance, with calibrated probabilities.",
    columns=(
        Column("article_id", pa.string(), "The article (`articles.article_id`).", nullable=False),
        Column("topic", pa.string(), "facial_recognition or other (the guidelines' definitions).",
               nullable=False),
        Column("p_topic", pa.float64(), "Calibrated probability that the topic is facial_recognition.",
               nullable=False),
        Column("stance", pa.string(), "ban / oversight / neutral, the most probable; null when off-topic."),
        Column("p_ban", pa.float64(), "Calibrated probability of ban (given on-topic); null when off-topic."),
        Column("p_oversight", pa.float64(), "Calibrated probability of oversight; null when off-topic."),
        Column("p_neutral", pa.float64(), "Calibrated probability of neutral; null when off-topic."),
        Column("model_version", pa.string(), "First 12 hex digits of the stance model file's sha256.",
               nullable=False),
        Column("top_features", pa.list_(pa.string()), "The n-gram terms and guideline cue families "
               "(`cue: halt words in headline (moratorium)`: the family and the words that made it) "
               "that pushed this decision most (stance when on-topic, else topic), strongest first, "
               "for an analyst to check.",
               nullable=False),
    ),
)

TOPICS = TableSpec(
    name="topics",
    file="topics.parquet",
    doc="Subtopics of the on-topic articles (NMF over TF-IDF): one row per article and subtopic "
        "with a weight of at least 0.05 (weights of an article sum to 1 over all subtopics).",
    columns=(
        Column("article_id", pa.string(), "The article (`articles.article_id`).", nullable=False),
        Column("topic_id", pa.int64(), "0-based subtopic id (`topic_terms.topic_id`).", nullable=False),
        Column("weight", pa.float64(), "Share of the article's NMF weight on this subtopic.", nullable=False),
    ),
)

TOPIC_TERMS = TableSpec(
    name="topic_terms",
    file="topic_terms.parquet",
    doc="The top terms of each subtopic, by NMF component weight.",
    columns=(
        Column("topic_id", pa.int64(), "0-based subtopic id.", nullable=False),
        Column("rank", pa.int64(), "1 = the subtopic's strongest term.", nullable=False),
        Column("term", pa.string(), "A word or two-word phrase.", nullable=False),
        Column("weight", pa.float64(), "The term's weight in the NMF component.", nullable=False),
    ),
)

ACTORS = TableSpec(
    name="actors",
    file="actors.parquet",
    doc="One row per person or organisation quoted anywhere in the run, merged across articles "
        "(\"Greer\" with \"Evan Greer\", \"the ACLU\" with \"American Civil Liberties Union\"), "
        "with the stance of their quotes. Sorted by n_quotes, then name.",
    columns=(
        Column("actor_id", pa.string(), "Stable id: 16 hex digits of BLAKE2b over type and canonical name.",
               nullable=False),
        Column("name", pa.string(), "Canonical name: the fullest form met in the run.", nullable=False),
        Column("type", pa.string(), "person or organisation.", nullable=False),
        Column("organisation", pa.string(), "For a person, the organisation the articles give most often."),
        Column("role", pa.string(), "The role the articles give most often (\"deputy director\")."),
        Column("aliases", pa.list_(pa.string()), "Every speaker_name merged into this actor.", nullable=False),
        Column("n_quotes", pa.int64(), "Attributions to this actor.", nullable=False),
        Column("n_articles", pa.int64(), "Distinct articles quoting this actor.", nullable=False),
        Column("n_ban", pa.int64(), "Quotes whose stance is ban.", nullable=False),
        Column("n_oversight", pa.int64(), "Quotes whose stance is oversight.", nullable=False),
        Column("n_neutral", pa.int64(), "Quotes whose stance is neutral.", nullable=False),
        Column("p_ban", pa.float64(), "Mean p_ban over the actor's quotes with a stance; null when none."),
        Column("p_oversight", pa.float64(), "Mean p_oversight over those quotes."),
        Column("p_neutral", pa.float64(), "Mean p_neutral over those quotes."),
        Column("stance", pa.string(), "The stance with the highest mean probability; null when no quote "
               "has a stance."),
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (ARTICLES, QUARANTINE, ENTITIES, QUOTES, PREDICTIONS, TOPICS, TOPIC_TERMS, ACTORS)
}


# ----------------------------------------------------------------- cache parts (not outputs)
# One row per article: its key (a digest of its id and text, see pipeline/cache.py) and its
# rows of the output tables, nested. Extract parts hold what parsing gives; classify parts
# what the topic / stance model gives on top of it.


def _rows_of(spec: TableSpec) -> pa.DataType:
    return pa.list_(pa.field("item", pa.struct(list(spec.schema))))


CACHE_EXTRACT = pa.schema([
    pa.field("key", pa.string(), nullable=False),
    pa.field("entities", _rows_of(ENTITIES), nullable=False),
    pa.field("quotes", _rows_of(QUOTES), nullable=False),
])
CACHE_CLASSIFY = pa.schema([
    pa.field("key", pa.string(), nullable=False),
    pa.field("prediction", pa.struct(list(PREDICTIONS.schema)), nullable=False),
    pa.field("quotes", _rows_of(QUOTES), nullable=False),
])


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
