"""Quotation marks: the one place that knows which characters open and close a quote.

:func:`find_quotes` pairs the marks of a text into :class:`QuoteSpan` objects, paragraph
by paragraph, the way news copy writes them:

* straight ``"``, curly ``“ ”``, low ``„``, guillemets ``« »``, and the doubled apostrophes
  (``''like this''``) and backticks (````like this''``) of NYT and PTB-style text;
* a quote that runs over several paragraphs reopens each paragraph and closes only in the
  last: the paragraphs become pieces of one span;
* unbalanced marks never stop anything: a quote still open at the end of its paragraph
  (and not reopened by the next one) is closed there and flagged ``closed=False``; a
  closing mark with nothing open is ignored.

Single quotes (‘ ’ ') are not quote marks here: ’ is also the apostrophe.
Offsets are Python ``str`` indices (code points), end exclusive, and include the marks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

#: Every double quotation mark, longest first (``''`` before a lone ``'`` is never matched).
MARK_RE = re.compile(r"``|''|[\"“”„«»‟]")
OPENERS = frozenset({"“", "„", "«", "``", "‟"})
CLOSERS = frozenset({"”", "»"})
AMBIGUOUS = frozenset({'"', "''"})
#: Characters that may stand right before an opening mark / right after a closing one.
_BEFORE_OPEN = set(" \t\n\r([{—–-/\u00a0") | {""}
_AFTER_CLOSE = set(" \t\n\r.,;:!?)]}—–-/\u00a0") | {""}

_BLANK_LINE_RE = re.compile(r"\n[ \t\r\f\v\u00a0]*\n")


@dataclass(frozen=True)
class QuoteSpan:
    """A quotation: one piece per paragraph it runs over, each including its marks."""

    pieces: tuple[tuple[int, int], ...]
    closed: bool = True

    @property
    def start(self) -> int:
        return self.pieces[0][0]

    @property
    def end(self) -> int:
        return self.pieces[-1][1]

    def inner(self, text: str) -> str:
        """The quoted words without the marks (pieces joined by a space)."""
        parts = []
        for s, e in self.pieces:
            piece = text[s:e]
            m = MARK_RE.match(piece)
            if m:
                piece = piece[m.end():]
            for mark in ("''", '"', "”", "»", "“"):
                if piece.endswith(mark):
                    piece = piece[: -len(mark)]
                    break
            parts.append(piece.strip())
        return " ".join(p for p in parts if p)


def paragraphs(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each paragraph: split at blank lines, or at every newline when
    the text has no blank line at all (one paragraph per line)."""
    if _BLANK_LINE_RE.search(text):
        bounds = [(m.start(), m.end()) for m in _BLANK_LINE_RE.finditer(text)]
    else:
        bounds = [(m.start(), m.end()) for m in re.finditer(r"\n", text)]
    out = []
    pos = 0
    for s, e in bounds:
        out.append((pos, s))
        pos = e
    out.append((pos, len(text)))
    return [(s, e) for s, e in out if text[s:e].strip()]


def _direction(text: str, start: int, end: int) -> str:
    """'open', 'close' or '?' for the mark at ``text[start:end]``."""
    mark = text[start:end]
    if mark in OPENERS:
        return "open"
    if mark in CLOSERS:
        return "close"
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    can_open = before in _BEFORE_OPEN or before in OPENERS or before == "'"
    can_close = after in _AFTER_CLOSE or after in CLOSERS or after == "'"
    if can_open and not can_close:
        return "open"
    if can_close and not can_open:
        return "close"
    return "?"


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def find_quotes(text: str) -> list[QuoteSpan]:
    """Pair the quotation marks of ``text`` into quotes, in text order."""
    marks = [(m.start(), m.end()) for m in MARK_RE.finditer(text)]
    if not marks:
        return []
    paras = paragraphs(text)
    out: list[QuoteSpan] = []
    # marks grouped by paragraph (marks in blank separators cannot exist: they are whitespace)
    by_para: list[list[tuple[int, int]]] = [[] for _ in paras]
    pi = 0
    for s, e in marks:
        while pi < len(paras) and s >= paras[pi][1]:
            pi += 1
        if pi < len(paras) and s >= paras[pi][0]:
            by_para[pi].append((s, e))
    open_at: int | None = None
    pieces: list[tuple[int, int]] = []
    skip_first = False
    for p, ((ps, pe), pmarks) in enumerate(zip(paras, by_para)):
        for k, (s, e) in enumerate(pmarks):
            if skip_first and k == 0:
                continue
            d = _direction(text, s, e)
            if open_at is None:
                if d in ("open", "?"):
                    open_at = s
                # a closing mark with nothing open: stray, ignored
            elif d == "open" and text[s:e] not in AMBIGUOUS and s > open_at:
                # an explicit opener while a quote is open: the open one never closed
                end = _trim_end(text, open_at, s)
                if end > open_at:
                    out.append(QuoteSpan(tuple(pieces + [(open_at, end)]), closed=False))
                pieces, open_at = [], s
            else:
                out.append(QuoteSpan(tuple(pieces + [(open_at, e)]), closed=True))
                pieces, open_at = [], None
        skip_first = False
        if open_at is not None:
            end = _trim_end(text, open_at, pe)
            nxt = by_para[p + 1] if p + 1 < len(paras) else []
            if (nxt and text[paras[p + 1][0]:nxt[0][0]].strip() == ""
                    and _direction(text, *nxt[0]) in ("open", "?")):
                # multi-paragraph quote: this paragraph is a piece, the next reopens it
                pieces.append((open_at, end))
                open_at = nxt[0][0]
                skip_first = True
            else:
                out.append(QuoteSpan(tuple(pieces + [(open_at, end)]), closed=False))
                pieces, open_at = [], None
    return out


def iter_mark_offsets(text: str) -> Iterator[int]:
    """Start offsets of every quotation mark in ``text``."""
    for m in MARK_RE.finditer(text):
        yield m.start()
