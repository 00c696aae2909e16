"""Stable article identity: from the canonical URL when there is one, else from the text."""

from __future__ import annotations

import hashlib

from pipeline.ingest.normalize import fingerprint_text


def _digest(namespace: str, value: str) -> str:
    return hashlib.blake2b(f"{namespace}\0{value}".encode("utf-8"), digest_size=8).hexdigest()


def article_id(canonical: str | None, text: str) -> str:
    """16 hex digits. Same canonical URL -> same id; without a URL, same words -> same id."""
    if canonical:
        return _digest("url", canonical)
    return _digest("text", fingerprint_text(text) or text)


def content_hash(text: str) -> str:
    """sha256 of the stored text: what caches of later stages key on."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
