"""The two things a reader yields: a raw article record, or a quarantine row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.schemas import QUARANTINE_REASONS


@dataclass
class RawRecord:
    """One article as a reader found it, before cleaning and identity.

    Field values are whatever the input held (strings, dates, numbers); ``normalize``
    turns them into an article row. ``parent`` links an aggregator ``related`` entry
    to the record it was listed under.
    """

    source_path: str
    kind: str
    line: int | None = None
    item: str | None = None
    url: Any = None
    title: Any = None
    excerpt: Any = None
    body: Any = None
    published: Any = None
    provider: Any = None
    domain: Any = None
    topics: Any = None
    parent: "RawRecord | None" = None
    article_id: str | None = None  # set once the record has become an article
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Quarantined:
    """An input that could not be ingested, and why."""

    source_path: str
    reason: str
    detail: str
    line: int | None = None
    item: str | None = None
    input_kind: str | None = None

    def __post_init__(self) -> None:
        if self.reason not in QUARANTINE_REASONS:
            raise ValueError(f"unknown quarantine reason {self.reason!r}")

    def as_row(self) -> dict[str, Any]:
        return {
            "source_path": self.source_path,
            "line": self.line,
            "item": self.item,
            "reason": self.reason,
            "detail": self.detail,
            "input_kind": self.input_kind,
        }
