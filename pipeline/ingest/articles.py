"""Raw record -> article row: cleaned fields, canonical URL, date, identity."""

from __future__ import annotations

from typing import Any

from pipeline.config import IngestParams
from pipeline.ingest.identity import article_id, content_hash
from pipeline.ingest.normalize import (
    as_text,
    build_text,
    canonical_url,
    domain_of,
    parse_published,
)
from pipeline.ingest.records import Quarantined, RawRecord


def _provider_fields(raw: RawRecord, warnings: list[str]) -> tuple[Any, Any]:
    provider, domain = raw.provider, raw.domain
    if isinstance(provider, dict):
        provider, domain = provider.get("name"), domain or provider.get("domain")
    return as_text(provider, "provider", warnings), as_text(domain, "domain", warnings)


def _topics(value: Any, warnings: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        warnings.append(f"topics: expected a list, got {type(value).__name__}; ignored")
        return []
    out = []
    for t in value:
        text = as_text(t, "topics", warnings)
        if text:
            out.append(text)
    return out


def _url(value: Any, warnings: list[str]) -> str | None:
    """The URL exactly as given (only surrounding whitespace removed): never HTML-unescaped."""
    if value is None:
        return None
    if not isinstance(value, str):
        warnings.append(f"url: expected text, got {type(value).__name__}; ignored")
        return None
    return value.strip() or None


def to_article(raw: RawRecord, params: IngestParams) -> dict[str, Any] | Quarantined:
    """Clean one raw record into an ``articles`` row (see ``schemas.ARTICLES``), or quarantine it."""
    warnings = list(raw.warnings)
    title = as_text(raw.title, "title", warnings)
    excerpt = as_text(raw.excerpt, "excerpt", warnings)
    body = as_text(raw.body, "body", warnings)
    text = build_text(title, excerpt, body)
    where = dict(line=raw.line, item=raw.item, input_kind=raw.kind)
    if not text:
        return Quarantined(raw.source_path, "no_text", "no title, excerpt or body text", **where)
    if len(text) > params.max_article_chars:
        return Quarantined(raw.source_path, "too_large",
                           f"text of {len(text):,} characters is over ingest.max_article_chars "
                           f"({params.max_article_chars:,})", **where)
    url = _url(raw.url, warnings)
    canonical = canonical_url(url, params.tracking_params) if url else None
    if url and not canonical:
        warnings.append(f"url: {url[:120]!r} is not an absolute http(s) URL; identity comes from the text")
    published, problem = parse_published(raw.published)
    if problem:
        warnings.append(problem)
    provider, domain = _provider_fields(raw, warnings)
    related_to = raw.parent.article_id if raw.parent is not None else None
    aid = raw.article_id = article_id(canonical, text)
    return {
        "article_id": aid,
        "url": url,
        "canonical_url": canonical,
        "urls": [url] if url else [],
        "title": title,
        "excerpt": excerpt,
        "text": text,
        "published": published,
        "provider": provider,
        "domain": domain.lower() if domain else domain_of(canonical),
        "topics": _topics(raw.topics, warnings),
        "related_to": related_to,
        "input_kind": raw.kind,
        "source_path": raw.source_path,
        "source_line": raw.line,
        "sources": [{"path": raw.source_path, "line": raw.line, "item": raw.item, "kind": raw.kind}],
        "duplicate_of": None,
        "duplicate_similarity": None,
        "content_hash": content_hash(text),
        "n_chars": len(text),
        "warnings": warnings,
    }
