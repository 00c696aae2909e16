"""Bytes to text, with every way a file can be unusable turned into a quarantine row."""

from __future__ import annotations

import codecs
from pathlib import Path

from pipeline.ingest.records import Quarantined

# Signatures of common binary files that reach a news folder by accident.
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or DOCX/XLSX)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
    (b"PAR1", "a Parquet file without a .parquet extension"),
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def os_reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def sniff_binary(head: bytes) -> str | None:
    """What kind of binary file ``head`` (the first bytes) belongs to, or None for text."""
    for sig, what in _SIGNATURES:
        if head.startswith(sig):
            return what
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return None
    if b"\x00" in head[:8192]:
        return "a binary file (it contains NUL bytes)"
    return None


def decode(data: bytes) -> tuple[str | None, str | None]:
    """Decode UTF-8 (or UTF-16/32 with a byte-order mark). Returns ``(text, None)`` or ``(None, why)``."""
    encoding, skip = "utf-8", 0
    for bom, enc in _BOMS:
        if data.startswith(bom):
            encoding, skip = enc, len(bom)
            break
    try:
        return data[skip:].decode(encoding), None
    except UnicodeDecodeError as exc:
        bad = data[skip + exc.start : skip + exc.start + 4]
        return None, f"not valid {encoding.upper()}: byte 0x{bad[:1].hex()} at offset {skip + exc.start}"


def read_document(path: Path, source_path: str, max_bytes: int, kind: str | None = None) -> str | Quarantined:
    """Read a whole-file document (front matter or plain text) as text, or say why not."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Quarantined(source_path, "too_large",
                               f"{size:,} bytes is over ingest.max_document_bytes ({max_bytes:,}); not read",
                               input_kind=kind)
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        return Quarantined(source_path, "unreadable", os_reason(exc), input_kind=kind)
    if len(data) > max_bytes:  # grew while we looked
        return Quarantined(source_path, "too_large",
                           f"over ingest.max_document_bytes ({max_bytes:,}); not read", input_kind=kind)
    what = sniff_binary(data[:8192])
    if what:
        return Quarantined(source_path, "binary", f"{what}, not a text article", input_kind=kind)
    text, why = decode(data)
    if text is None:
        return Quarantined(source_path, "undecodable", why or "undecodable", input_kind=kind)
    if not text.strip():
        return Quarantined(source_path, "empty", "the file holds no text" if data else "the file is empty",
                           input_kind=kind)
    return text
